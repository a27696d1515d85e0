"""`python -m services.gateway`: the public Assistant API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import redis.asyncio as aioredis

from services.gateway.audit import AuditLog
from services.gateway.config import DEFAULT_PORT, GatewaySettings
from services.gateway.ratelimit import Rate, RateLimiter
from services.gateway.replies import ReplyRouter
from services.gateway.server import AssistantServicer
from services.gateway.slots import SessionSlots
from services.gateway.speech import SpeechRecognizer
from services.support import gateway_channel
from shopvoice import db, grpc_server, log
from shopvoice.auth import DEV_AUTH_KEYS, TokenVerifier, parse_keys
from shopvoice.gateway.v1 import gateway_pb2, gateway_pb2_grpc

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "gateway"


def build(settings: GatewaySettings) -> grpc_server.Service:
    redis = aioredis.from_url(settings.redis_url)
    verifier = TokenVerifier(parse_keys(settings.auth_keys))
    customer_channel = gateway_channel.ChannelSettings()  # SUPPORT_ADDR empty: no customer channel
    limiter = RateLimiter(
        redis,
        settings.stream_prefix,
        merchant=Rate(settings.rate_merchant_per_s, settings.rate_merchant_burst),
        user=Rate(settings.rate_user_per_s, settings.rate_user_burst),
    )
    router = ReplyRouter(redis, settings.stream_prefix)
    slots = SessionSlots(redis, settings.stream_prefix, settings.max_sessions_per_merchant, settings.session_lease_s)
    state: dict[str, object] = {}

    async def on_start() -> None:
        if settings.auth_keys == DEV_AUTH_KEYS:
            log.get().warning("AUTH_KEYS is the development key: set it from a secret before exposing this gateway")
        pool = await db.prepare(settings.database_url, SCHEMA, MIGRATIONS, settings.db_pool_min, settings.db_pool_max)
        audit = AuditLog(pool)
        # The ASR channel belongs to the running loop, so it is made here; no ASR_ADDR: text only.
        recognizer = None
        if settings.asr_addr:
            asr = grpc_server.channel(settings.asr_addr)
            state["asr"] = asr
            recognizer = SpeechRecognizer(asr, settings.session_max_s, settings.asr_model)
        state.update(
            pool=pool,
            audit=audit,
            servicer=AssistantServicer(redis, verifier, settings, limiter, slots, audit, router, recognizer),
        )
        # Not a `background` job: those stop before the server drains, and sessions that
        # are draining still need their replies routed. It stops in on_stop, after them.
        state["router"] = asyncio.create_task(router.run())

    async def write_audit() -> None:
        audit = state["audit"]
        assert isinstance(audit, AuditLog)
        await audit.run()

    async def on_stop() -> None:
        servicer, audit, pool = state["servicer"], state["audit"], state["pool"]
        assert isinstance(servicer, AssistantServicer) and isinstance(audit, AuditLog)
        await servicer.wait_drained()
        routing = state["router"]
        assert isinstance(routing, asyncio.Task)
        routing.cancel()
        await asyncio.gather(routing, return_exceptions=True)
        try:
            await audit.flush()
        finally:
            await pool.close()  # type: ignore[attr-defined]
            await redis.aclose()
            if isinstance(asr := state.get("asr"), grpc.aio.Channel):
                await asr.close(None)

    def register(server: grpc.aio.Server) -> None:
        servicer = state["servicer"]
        assert isinstance(servicer, AssistantServicer)
        gateway_pb2_grpc.add_AssistantServicer_to_server(servicer, server)
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
        background=[write_audit],
    )


if __name__ == "__main__":
    config = GatewaySettings()
    grpc_server.main(build(config), config)
