"""`python -m services.asr`: the ASR gRPC server (Riva's ASR API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
from riva.client.proto import riva_asr_pb2, riva_asr_pb2_grpc

from services.asr import vocabulary
from services.asr.config import DEFAULT_PORT, AsrSettings
from services.asr.engines.base import Engine
from services.asr.server import RivaAsrServicer
from shopvoice import grpc_server
from shopvoice.config import load

SERVICE_NAME = riva_asr_pb2.DESCRIPTOR.services_by_name["RivaSpeechRecognition"].full_name


def build(settings: AsrSettings) -> grpc_server.Service:
    engine: Engine
    background: list[Callable[[], Awaitable[None]]] = []
    if settings.engine == "riva":
        from services.asr.engines.riva import RivaEngine

        if not settings.riva_url:
            raise SystemExit("ASR_ENGINE=riva needs RIVA_URL (host:port of the upstream Riva/NIM server)")
        riva_engine = RivaEngine(
            settings.riva_url,
            settings.riva_use_ssl,
            vocabulary.DEMO_VOCABULARY,
            settings.max_stream_seconds + 30,
            settings.rpc_timeout_s,
        )
        engine = riva_engine
        on_change = riva_engine.set_vocabulary
    else:
        from services.asr.engines.sphinx_engine import SphinxEngine

        sphinx = SphinxEngine.from_settings(settings, vocabulary.DEMO_VOCABULARY)
        sphinx.wait_ready()  # a broken grammar fails the start, not the first stream
        engine = sphinx
        on_change = sphinx.set_vocabulary
    if settings.catalog_addr or settings.orders_addr:

        async def refresh() -> None:
            await vocabulary.refresh_forever(
                settings.catalog_addr,
                settings.orders_addr,
                settings.vocabulary_merchant_id,
                settings.vocabulary_refresh_s,
                settings.rpc_timeout_s,
                settings.order_id_headroom,
                on_change,
            )

        background.append(refresh)

    def register(server: grpc.aio.Server) -> None:
        riva_asr_pb2_grpc.add_RivaSpeechRecognitionServicer_to_server(RivaAsrServicer(engine, settings), server)

    return grpc_server.Service(
        name="asr",
        default_port=DEFAULT_PORT,
        grpc_services=[SERVICE_NAME],
        register=register,
        on_stop=engine.close,
        background=background,
    )


if __name__ == "__main__":
    config = load(AsrSettings)  # from the environment; what is missing ends the process here
    grpc_server.main(build(config), config)
