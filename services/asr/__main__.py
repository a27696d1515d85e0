"""`python -m services.asr`: the ASR gRPC server (Riva's ASR API)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import redis.asyncio as aioredis
from riva.client.proto import riva_asr_pb2, riva_asr_pb2_grpc

from services.asr import vocabulary
from services.asr.config import DEFAULT_PORT, AsrSettings
from services.asr.engines.base import Engine
from services.asr.server import RivaAsrServicer
from shopvoice import catalog_events, grpc_server
from shopvoice.config import load

SERVICE_NAME = riva_asr_pb2.DESCRIPTOR.services_by_name["RivaSpeechRecognition"].full_name


@dataclass
class Asr:
    """The process's parts: the engine (made at once, so a broken grammar or a missing
    RIVA_URL fails the start, not the first stream) and what keeps its vocabulary current."""

    settings: AsrSettings
    engine: Engine = field(init=False)
    on_vocabulary: Callable[[vocabulary.Vocabulary], None] = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        if s.engine == "riva":
            from services.asr.engines.riva import RivaEngine

            if not s.riva_url:
                raise SystemExit("ASR_ENGINE=riva needs RIVA_URL (host:port of the upstream Riva/NIM server)")
            riva = RivaEngine(
                s.riva_url,
                s.riva_use_ssl,
                vocabulary.DEMO_VOCABULARY,
                s.max_stream_seconds + 30,
                s.rpc_timeout_s,
                s.grammar_names,
            )
            self.engine, self.on_vocabulary = riva, riva.set_vocabulary
        else:
            from services.asr.engines.sphinx_engine import SphinxEngine

            sphinx = SphinxEngine.from_settings(s, vocabulary.DEMO_VOCABULARY)
            sphinx.wait_ready()
            self.engine, self.on_vocabulary = sphinx, sphinx.set_vocabulary

    @property
    def background(self) -> list[Callable[[], Awaitable[None]]]:
        """Without CATALOG_ADDR and ORDERS_ADDR the ASR hears the demo vocabulary only."""
        return [self.refresh_vocabulary] if self.settings.catalog_addr or self.settings.orders_addr else []

    async def refresh_vocabulary(self) -> None:
        """Poll the vocabulary, and with a catalog, fetch it again as soon as the catalog's event
        stream says the merchant's products changed (Redis away: the poll goes on alone)."""
        s = self.settings
        changed = asyncio.Event()
        follower: asyncio.Task[None] | None = None
        redis = aioredis.from_url(s.redis_url) if s.catalog_addr else None
        if redis is not None:

            def on_product_change(merchant_id: str) -> None:
                if merchant_id == s.vocabulary_merchant_id:
                    changed.set()

            # From the stream's end when Redis first answers (any event only wakes a fetch, so one
            # written before that is covered by the first fetch or the poll); Redis away: polling alone.
            follower = asyncio.create_task(
                catalog_events.follow_product_changes(redis, s.redis_keys.catalog_events, None, on_product_change)
            )
        try:
            await vocabulary.refresh_forever(
                s.catalog_addr,
                s.orders_addr,
                s.vocabulary_merchant_id,
                s.vocabulary_refresh_s,
                s.rpc_timeout_s,
                s.order_id_headroom,
                self.on_vocabulary,
                products_changed=changed,
                settle_s=s.vocabulary_settle_s,
                max_delay_s=s.vocabulary_max_delay_s,
            )
        finally:
            if follower is not None:
                follower.cancel()
            if redis is not None:
                await redis.aclose()

    def register(self, server: grpc.aio.Server) -> None:
        riva_asr_pb2_grpc.add_RivaSpeechRecognitionServicer_to_server(
            RivaAsrServicer(self.engine, self.settings), server
        )


def build(settings: AsrSettings) -> grpc_server.Service:
    asr = Asr(settings)
    return grpc_server.Service(
        name="asr",
        default_port=DEFAULT_PORT,
        grpc_services=[SERVICE_NAME],
        register=asr.register,
        on_stop=asr.engine.close,
        background=asr.background,
        # A Recognize request over ASR_MAX_RECOGNIZE_BYTES gets our own message naming the limit;
        # gRPC's (twice it) only stops what is far past it.
        max_message_bytes=2 * settings.max_recognize_bytes + 64 * 1024,
    )


if __name__ == "__main__":
    config = load(AsrSettings)  # from the environment; what is missing ends the process here
    grpc_server.main(build(config), config)
