"""`python -m services.nlu`: the transcript consumer, with health and metrics on its gRPC port."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import grpc
import redis.asyncio as aioredis

from services.nlu.config import DEFAULT_PORT, NluSettings
from services.nlu.consumer import UtteranceHandler
from services.nlu.dialogue import DialogueStore, Policy
from services.nlu.dispatch import Dispatcher
from services.nlu.llm import LlmParser
from services.nlu.understand import Understander
from shopvoice import grpc_server, streams
from shopvoice.catalog_events import stream_end
from shopvoice.common.v1.command_pb2 import Command
from shopvoice.config import load
from shopvoice.grammar import Vocabulary
from shopvoice.grammar.index import compile_all
from shopvoice.jobs import JobSender
from shopvoice.permissions import PermissionGate, PermissionSettings
from shopvoice.replies import ReplyPublisher
from shopvoice.streams import StreamConsumer
from shopvoice.vocabulary_cache import VocabularyCache

CONSUMER_GROUP = "nlu"


@dataclass
class Nlu:
    """The process's parts. Channels, the LLM client and the handler are made in `start`:
    grpc.aio objects belong to the event loop that runs the server."""

    settings: NluSettings
    redis: aioredis.Redis = field(init=False)
    catalog: grpc.aio.Channel = field(init=False)
    orders: grpc.aio.Channel = field(init=False)
    llm: LlmParser = field(init=False)
    vocabularies: VocabularyCache = field(init=False)
    handler: UtteranceHandler = field(init=False)

    def __post_init__(self) -> None:
        self.redis = aioredis.from_url(self.settings.redis_url)

    async def start(self) -> None:
        s = self.settings
        # Before the server reports SERVING, not during the first utterance; the start-up
        # heap, grammars included, is then frozen out of garbage collection (shopvoice/heap.py).
        compile_all()
        self.catalog = grpc_server.channel(s.catalog_addr)
        self.orders = grpc_server.channel(s.orders_addr)
        self.vocabularies = VocabularyCache(self.catalog, s.vocab_ttl_s, s.rpc_timeout_s)
        self.llm = LlmParser()
        # the server reads the prompt's fixed prefix now, not during the first utterance
        self.llm.keep_warm()
        # Bulk changes and their undo run in the worker, sent by task name through its broker.
        jobs = JobSender(s.redis_url, s.redis_keys.celery)
        dispatcher = Dispatcher(self.catalog, self.orders, s.rpc_timeout_s, jobs)
        self.handler = UtteranceHandler(
            understander=Understander(self.ask_llm if self.llm.settings.enabled else None, s.llm_threshold),
            vocabularies=self.vocabularies,
            dispatcher=dispatcher,
            policy=Policy(dispatcher.current_price, s.confirm_price_change_pct, dispatcher.paid_total),
            dialogue=DialogueStore(self.redis, s.stream_prefix, s.dialogue_ttl_s),
            replies=ReplyPublisher(self.redis, s.reply_ttl_s),
            gate=PermissionGate(self.redis, s.stream_prefix, PermissionSettings().staff_may_refund),
            redis=self.redis,
            understood_after_s=s.understood_after_ms / 1000,
        )

    async def ask_llm(
        self, text: str, grammar_answer: Command, vocabulary: Vocabulary | None, context: str
    ) -> tuple[Command, str]:
        answer = await self.llm.parse(text, grammar_answer, vocabulary, context)
        return answer.command, "llm" if answer.source == "llm" else "grammar"

    async def consume(self) -> None:
        s = self.settings
        consumer = StreamConsumer(
            redis=self.redis,
            stream=s.redis_keys.transcripts,
            group=CONSUMER_GROUP,
            consumer=s.consumer_name,
            handler=self.handler,
            claim_idle_ms=s.stream_claim_idle_ms,
            max_deliveries=s.stream_max_deliveries,
        )
        events = s.redis_keys.catalog_events
        # where the follower starts, taken before the consumer can fetch any vocabulary
        follower = asyncio.create_task(
            self.vocabularies.follow(self.redis, events, await stream_end(self.redis, events))
        )
        try:
            await consumer.run()
        finally:
            follower.cancel()

    async def stop(self) -> None:
        await self.catalog.close(None)
        await self.orders.close(None)
        await self.llm.close()
        await streams.close(self.redis)

    def register(self, server: grpc.aio.Server) -> None:
        """The NLU serves no API of its own: health, reflection and metrics only."""


def build(settings: NluSettings) -> grpc_server.Service:
    nlu = Nlu(settings)
    return grpc_server.Service(
        name="nlu",
        default_port=DEFAULT_PORT,
        grpc_services=[],
        register=nlu.register,
        on_start=nlu.start,
        on_stop=nlu.stop,
        background=[nlu.consume],
    )


if __name__ == "__main__":
    config = load(NluSettings)  # from the environment; what is missing ends the process here
    grpc_server.main(build(config), config)
