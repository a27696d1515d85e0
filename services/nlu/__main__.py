"""`python -m services.nlu`: the transcript consumer, with health and metrics on its gRPC port."""

from __future__ import annotations

import grpc
import redis.asyncio as aioredis

from services.nlu.config import DEFAULT_PORT, NluSettings
from services.nlu.consumer import UtteranceHandler
from services.nlu.dispatch import Dispatcher
from services.nlu.replies import ReplyPublisher
from shopvoice import grpc_server
from shopvoice.permissions import PermissionGate, PermissionSettings
from shopvoice.streams import StreamConsumer

CONSUMER_GROUP = "nlu"


def build(settings: NluSettings) -> grpc_server.Service:
    redis = aioredis.from_url(settings.redis_url)
    channels: list[grpc.aio.Channel] = []

    async def consume() -> None:
        # gRPC aio channels belong to the running loop, so they are made here, not at import.
        catalog = grpc_server.channel(settings.catalog_addr)
        channels.append(catalog)
        handler = UtteranceHandler(
            Dispatcher(catalog, settings.rpc_timeout_s),
            ReplyPublisher(redis, settings.reply_ttl_s),
            PermissionGate(redis, settings.stream_prefix, PermissionSettings().staff_may_refund),
        )
        consumer = StreamConsumer(
            redis=redis,
            stream=f"{settings.stream_prefix}:transcripts",
            group=CONSUMER_GROUP,
            consumer=settings.consumer_name,
            handler=handler,
            claim_idle_ms=settings.stream_claim_idle_ms,
            max_deliveries=settings.stream_max_deliveries,
        )
        await consumer.run()

    async def on_stop() -> None:
        for channel in channels:
            await channel.close(None)
        await redis.aclose()

    def register(server: grpc.aio.Server) -> None:
        """The NLU serves no API of its own: health, reflection and metrics only."""

    return grpc_server.Service(
        name="nlu",
        default_port=DEFAULT_PORT,
        grpc_services=[],
        register=register,
        on_stop=on_stop,
        background=[consume],
    )


if __name__ == "__main__":
    config = NluSettings()
    grpc_server.main(build(config), config)
