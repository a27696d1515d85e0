"""`python -m services.nlu`: the transcript consumer, with health and metrics on its gRPC port."""

from __future__ import annotations

import asyncio

import grpc
import redis.asyncio as aioredis

from services.nlu.config import DEFAULT_PORT, NluSettings
from services.nlu.consumer import UtteranceHandler
from services.nlu.dialogue import DialogueStore, Policy
from services.nlu.dispatch import Dispatcher
from services.nlu.llm import LlmParser
from services.nlu.understand import Understander
from shopvoice import grpc_server
from shopvoice.common.v1.command_pb2 import Command
from shopvoice.config import load
from shopvoice.grammar.index import compile_all
from shopvoice.permissions import PermissionGate, PermissionSettings
from shopvoice.replies import ReplyPublisher
from shopvoice.streams import StreamConsumer
from shopvoice.vocabulary_cache import VocabularyCache, stream_end

CONSUMER_GROUP = "nlu"


def build(settings: NluSettings) -> grpc_server.Service:
    redis = aioredis.from_url(settings.redis_url)
    channels: list[grpc.aio.Channel] = []
    llms: list[LlmParser] = []

    async def consume() -> None:
        # gRPC aio channels belong to the running loop, so they are made here, not at import.
        catalog = grpc_server.channel(settings.catalog_addr)
        orders = grpc_server.channel(settings.orders_addr)
        channels.extend((catalog, orders))
        vocabularies = VocabularyCache(catalog, settings.vocab_ttl_s, settings.rpc_timeout_s)
        llm = LlmParser()
        llms.append(llm)

        async def ask_llm(text: str, grammar_answer: Command) -> tuple[Command, str]:
            answer = await llm.parse(text, grammar_answer)
            return answer.command, "llm" if answer.source == "llm" else "grammar"

        dispatcher = Dispatcher(catalog, orders, settings.rpc_timeout_s)
        handler = UtteranceHandler(
            understander=Understander(ask_llm if llm.settings.enabled else None, settings.llm_threshold),
            vocabularies=vocabularies,
            dispatcher=dispatcher,
            policy=Policy(dispatcher.current_price, settings.confirm_price_change_pct),
            dialogue=DialogueStore(redis, settings.stream_prefix, settings.dialogue_ttl_s),
            replies=ReplyPublisher(redis, settings.reply_ttl_s),
            gate=PermissionGate(redis, settings.stream_prefix, PermissionSettings().staff_may_refund),
            redis=redis,
            understood_after_s=settings.understood_after_ms / 1000,
        )
        consumer = StreamConsumer(
            redis=redis,
            stream=settings.redis_keys.transcripts,
            group=CONSUMER_GROUP,
            consumer=settings.consumer_name,
            handler=handler,
            claim_idle_ms=settings.stream_claim_idle_ms,
            max_deliveries=settings.stream_max_deliveries,
        )
        events = settings.redis_keys.catalog_events
        # where the follower starts, taken before the consumer can fetch any vocabulary
        follower = asyncio.create_task(vocabularies.follow(redis, events, await stream_end(redis, events)))
        try:
            await consumer.run()
        finally:
            follower.cancel()

    async def on_start() -> None:
        # Before the server reports SERVING, not during the first utterance; the start-up
        # heap, grammars included, is then frozen out of garbage collection (shopvoice/heap.py).
        compile_all()

    async def on_stop() -> None:
        for channel in channels:
            await channel.close(None)
        for llm in llms:
            await llm.close()
        await redis.aclose()

    def register(server: grpc.aio.Server) -> None:
        """The NLU serves no API of its own: health, reflection and metrics only."""

    return grpc_server.Service(
        name="nlu",
        default_port=DEFAULT_PORT,
        grpc_services=[],
        register=register,
        on_start=on_start,
        on_stop=on_stop,
        background=[consume],
    )


if __name__ == "__main__":
    config = load(NluSettings)  # from the environment; what is missing ends the process here
    grpc_server.main(build(config), config)
