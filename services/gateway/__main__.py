"""`python -m services.gateway`: the public Assistant API."""

from __future__ import annotations

import grpc
import redis.asyncio as aioredis

from services.gateway.auth import TokenVerifier, parse_keys
from services.gateway.config import DEFAULT_PORT, DEV_AUTH_KEYS, GatewaySettings
from services.gateway.server import AssistantServicer
from services.support import gateway_channel
from shopvoice import grpc_server, log
from shopvoice.gateway.v1 import gateway_pb2, gateway_pb2_grpc


def build(settings: GatewaySettings) -> grpc_server.Service:
    redis = aioredis.from_url(settings.redis_url)
    verifier = TokenVerifier(parse_keys(settings.auth_keys))
    customer_channel = gateway_channel.ChannelSettings()  # SUPPORT_ADDR empty: no customer channel

    async def on_start() -> None:
        if settings.auth_keys == DEV_AUTH_KEYS:
            log.get().warning("AUTH_KEYS is the development key: set it from a secret before exposing this gateway")

    async def on_stop() -> None:
        await redis.aclose()

    def register(server: grpc.aio.Server) -> None:
        gateway_pb2_grpc.add_AssistantServicer_to_server(AssistantServicer(redis, verifier, settings), server)
        gateway_channel.register(server, verifier, customer_channel)

    return grpc_server.Service(
        name="gateway",
        default_port=DEFAULT_PORT,
        grpc_services=[
            gateway_pb2.DESCRIPTOR.services_by_name["Assistant"].full_name,
            *([gateway_channel.SERVICE_NAME] if customer_channel.support_addr else []),
        ],
        register=register,
        on_start=on_start,
        on_stop=on_stop,
    )


if __name__ == "__main__":
    config = GatewaySettings()
    grpc_server.main(build(config), config)
