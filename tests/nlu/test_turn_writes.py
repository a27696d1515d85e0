"""One turn's Redis traffic, against real Redis: how many round trips it makes, and that the
answer's reply, the session's state and the answer memo are committed together or not at all.

The NLU's handler runs in-process; the catalog and orders addresses lead nowhere (the
vocabulary is then unknown), so the turns played mostly dispatch nothing: a refund is
proposed, a proposal cancelled, a dry run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import grpc
import pytest
import redis
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection

from services.nlu.consumer import UtteranceHandler
from services.nlu.dialogue import DialogueStore, Policy
from services.nlu.dispatch import Dispatcher
from services.nlu.understand import Understander
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.nlu.v1.nlu_pb2 import Utterance
from shopvoice.permissions import PermissionGate
from shopvoice.replies import ReplyPublisher
from shopvoice.vocabulary_cache import VocabularyCache

MERCHANT = "m-turn"
NOWHERE = "127.0.0.1:1"  # nothing listens there


class Wire:
    """What the handler's Redis connection writes: one entry per write (one round trip)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.lost_at_answer = False  # when set, the connection is lost for good at the answer's write
        self.lost = False


def as_bytes(command: bytes | str | Iterable[bytes]) -> bytes:
    if isinstance(command, str):
        return command.encode()
    if isinstance(command, bytes):
        return command
    return b"".join(bytes(chunk) for chunk in command)


def counting_connection(wire: Wire) -> type[Connection]:
    class Counting(Connection):
        async def send_packed_command(self, command: bytes | str | Iterable[bytes], check_health: bool = True) -> None:
            packed = as_bytes(command)
            # The answer's write is the first one carrying a reply ("understood" rides with it).
            if wire.lost_at_answer and b"XADD" in packed:
                wire.lost = True
            if wire.lost:
                raise redis.exceptions.ConnectionError("connection lost (injected)")
            wire.writes.append(packed)
            await super().send_packed_command(command, check_health)

    return Counting


class Turns:
    """The handler, its Redis (counted) and a session to talk in."""

    def __init__(self, redis_url: str, prefix: str, session: str, understood_after_s: float = 10.0) -> None:
        self.wire = Wire()
        self.redis = aioredis.Redis.from_url(redis_url, connection_class=counting_connection(self.wire))
        self.channel = grpc.aio.insecure_channel(NOWHERE)
        dispatcher = Dispatcher(self.channel, self.channel, 0.5)
        self.dialogue = DialogueStore(self.redis, prefix, 600)
        self.handler = UtteranceHandler(
            understander=Understander(None),
            vocabularies=VocabularyCache(self.channel, 60, 0.5),
            dispatcher=dispatcher,
            policy=Policy(dispatcher.current_price, Decimal("30")),
            dialogue=self.dialogue,
            replies=ReplyPublisher(self.redis, 600),
            gate=PermissionGate(self.redis, prefix, False),
            redis=self.redis,
            understood_after_s=understood_after_s,
        )
        self.session = session
        self.reply_stream = f"{prefix}:replies:{self.session}"

    def utterance(self, text: str, utterance_id: str = "", dry_run: bool = False, role: str = "owner") -> Utterance:
        return Utterance(
            utterance_id=utterance_id or uuid.uuid4().hex,
            session_id=self.session,
            merchant_id=MERCHANT,
            user_id="u-1",
            role=role,
            text=text,
            language="en",
            reply_stream=self.reply_stream,
            dry_run=dry_run,
        )

    async def play(self, utterance: Utterance) -> int:
        """Handle the utterance; the number of round trips it took."""
        # The connections made (their handshakes are not the turn's): two, as an early
        # "understood" is written while the turn's own call is out.
        await asyncio.gather(self.redis.ping(), self.redis.ping())
        before = len(self.wire.writes)
        await self.handler.handle(utterance)
        return len(self.wire.writes) - before

    async def close(self) -> None:
        await self.channel.close(None)
        await self.redis.aclose()


def replies(client: redis.Redis, stream: str) -> list[gw.ServerMessage]:
    entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(stream)  # type: ignore[assignment]
    return [gw.ServerMessage.FromString(fields[b"msg"]) for _id, fields in entries]


def run(redis_url: str, prefix: str, script: Any, session: str = "", understood_after_s: float = 10.0) -> Any:
    async def go() -> Any:
        turns = Turns(redis_url, prefix, session or uuid.uuid4().hex, understood_after_s)
        try:
            return await script(turns)
        finally:
            await turns.close()

    return asyncio.run(go())


def test_a_turn_takes_two_round_trips_and_the_next_sees_its_state(redis_url: str, stream_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)

    async def script(turns: Turns) -> tuple[int, int, Utterance, Turns]:
        refund = turns.utterance("refund order 88")
        proposed = await turns.play(refund)
        cancelled = await turns.play(turns.utterance("never mind"))
        return proposed, cancelled, refund, turns

    proposed, cancelled, refund, turns = run(redis_url, stream_prefix, script)
    # Memo and state read together, then state + memo + "understood" + answer in one
    # transaction. It was five: GET, HGETALL, understood, settle, answer.
    assert proposed == 2
    assert cancelled == 2
    sent = replies(client, turns.reply_stream)
    assert [m.WhichOneof("kind") for m in sent] == ["understood", "confirmation", "understood", "result"]
    assert sent[1].utterance_id == refund.utterance_id
    # The cancel saw the proposal the first turn saved (otherwise: "Nothing to cancel").
    assert sent[3].result.status == gw.RESULT_STATUS_CANCELLED, sent[3]
    assert client.exists(turns.dialogue.answer_key(MERCHANT, refund.utterance_id))
    client.close()


def test_a_redelivered_turn_gets_its_first_answer_again_in_two_round_trips(redis_url: str, stream_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)

    async def script(turns: Turns) -> tuple[int, Turns]:
        await turns.play(turns.utterance("refund order 88", utterance_id="u-refund"))
        return await turns.play(turns.utterance("refund order 88", utterance_id="u-refund")), turns

    again, turns = run(redis_url, stream_prefix, script)
    assert again == 2, "the memo and state in one read, the answer in one write"
    sent = replies(client, turns.reply_stream)
    assert [m.WhichOneof("kind") for m in sent] == ["understood", "confirmation", "confirmation"]
    assert sent[2].confirmation == sent[1].confirmation
    client.close()


def test_a_dry_run_sends_both_replies_at_once_and_remembers_nothing(redis_url: str, stream_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)

    async def script(turns: Turns) -> tuple[int, Turns]:
        return await turns.play(turns.utterance("refund order 88", utterance_id="u-dry", dry_run=True)), turns

    took, turns = run(redis_url, stream_prefix, script)
    assert took == 2
    sent = replies(client, turns.reply_stream)
    assert [m.WhichOneof("kind") for m in sent] == ["understood", "result"]
    assert sent[1].result.message == "dry run: not executed"
    assert not client.exists(turns.dialogue.key(turns.session))
    assert not client.exists(turns.dialogue.answer_key(MERCHANT, "u-dry"))
    client.close()


def test_state_memo_and_answer_are_committed_together_or_not_at_all(redis_url: str, stream_prefix: str) -> None:
    """Redis is lost just as the answer is written: the state and the memo are not saved
    without it (so the redelivery decides the turn afresh and answers it), and with it they are."""
    client = redis.Redis.from_url(redis_url)

    async def lost(turns: Turns) -> Turns:
        turns.wire.lost_at_answer = True
        with pytest.raises(redis.exceptions.ConnectionError):
            await turns.play(turns.utterance("refund order 88", utterance_id="u-lost"))
        return turns

    turns = run(redis_url, stream_prefix, lost)
    assert replies(client, turns.reply_stream) == []
    assert not client.exists(turns.dialogue.key(turns.session)), "state saved without its answer"
    assert not client.exists(turns.dialogue.answer_key(MERCHANT, "u-lost")), "memo saved without its answer"

    async def redelivered(again: Turns) -> None:
        await again.play(again.utterance("refund order 88", utterance_id="u-lost"))

    run(redis_url, stream_prefix, redelivered, session=turns.session)
    sent = replies(client, turns.reply_stream)
    assert [m.WhichOneof("kind") for m in sent] == ["understood", "confirmation"]
    state: dict[bytes, bytes] = client.hgetall(turns.dialogue.key(turns.session))  # type: ignore[assignment]
    assert state[b"pending_id"] == b"u-lost"
    assert client.exists(turns.dialogue.answer_key(MERCHANT, "u-lost"))
    client.close()


@pytest.mark.parametrize(("after_s", "round_trips"), [(0.0, 4), (10.0, 3)])
def test_understood_goes_ahead_on_its_own_only_when_acting_takes_longer(
    redis_url: str, stream_prefix: str, after_s: float, round_trips: int
) -> None:
    """A turn still being acted on after understood_after_s (here: staff asking for a refund,
    so the merchant's refund setting is read from Redis) gets its "understood" in a write of
    its own, before the answer; a quicker one gets it in the answer's transaction. Either way
    it comes first."""
    client = redis.Redis.from_url(redis_url)

    async def script(turns: Turns) -> tuple[int, Turns]:
        return await turns.play(turns.utterance("refund order 88", role="staff")), turns

    took, turns = run(redis_url, stream_prefix, script, understood_after_s=after_s)
    assert took == round_trips  # begin, the refund setting, ["understood",] state + memo + answer
    sent = replies(client, turns.reply_stream)
    assert [m.WhichOneof("kind") for m in sent] == ["understood", "result"]
    assert sent[0].understood.command.refund_order.order_id == "88"
    assert sent[1].result.grpc_code == "PERMISSION_DENIED"  # staff may not refund by default
    client.close()
