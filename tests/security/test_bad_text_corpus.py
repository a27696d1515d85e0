"""A generated corpus of more than 2,000 bad texts (NUL, every C0/C1 control, DEL, U+FFFE/FFFF,
every lone surrogate's bytes, invalid and overlong UTF-8) through the gateway's Converse stream
and its customer channel: each one is INVALID_ARGUMENT, the session goes on, nothing is written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import redis

from shopvoice.auth import DEV_AUTH_KEYS, mint, parse_keys
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.support.v1 import support_pb2 as sup
from tests.reliability.test_bad_input import row_counts
from tests.support import servers
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.e2e

CONTEXTS = ("set the price of A100 to 99", "把A100的价格改成99元")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def bad_texts() -> list[bytes]:
    """Raw UTF-8-or-not bytes of texts no edge may accept."""
    corpus: list[bytes] = []
    bad_points = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0), 0xFFFE, 0xFFFF]
    for point in bad_points:  # valid UTF-8 that holds a character no text means: 64 x 3 x 2
        char = chr(point).encode()
        for context in CONTEXTS:
            raw = context.encode()
            corpus += [char + raw, raw[:10] + char + raw[10:], raw + char]
    for point in range(0xD800, 0xE000):  # every lone surrogate, as its (invalid) UTF-8 bytes: 2,048
        corpus.append(b"A100 " + bytes([0xE0 | point >> 12, 0x80 | (point >> 6) & 0x3F, 0x80 | point & 0x3F]))
    corpus += [bytes([b]) + b" A100" for b in range(0x80, 0x100)]  # stray continuation and lead bytes: 128
    corpus += [
        b"\xc0\x80",  # overlong NUL
        b"\xe0\x80\x80",
        b"\xf0\x80\x80\x80",
        b"\xf4\x90\x80\x80",  # above U+10FFFF
        b"\xe4\xbb",  # truncated 价
        b"\xf8\x88\x80\x80\x80",
        b"\xfc\x84\x80\x80\x80\x80",
    ]
    return corpus


def test_the_corpus_is_big_and_every_item_is_bad() -> None:
    corpus = bad_texts()
    assert len(corpus) >= 2000
    assert len(set(corpus)) == len(corpus)


@dataclass
class Edge:
    gateway: str
    database_url: str
    redis_url: str
    prefix: str


@pytest.fixture(scope="module")
def edge(pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    logs: Path = tmp_path_factory.mktemp("edge")
    prefix = f"svbad{uuid.uuid4().hex[:8]}"
    with servers.fresh_database(pg_admin_url) as database_url:
        env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "STREAM_PREFIX": prefix, "REPLY_WAIT_S": "1"}
        catalog = ServiceProcess("catalog", env, logs).start()
        orders = ServiceProcess("orders", env, logs).start()
        both = {**env, "CATALOG_ADDR": catalog.address, "ORDERS_ADDR": orders.address, "VLLM_URL": ""}
        support = ServiceProcess("support", both, logs).start()
        gateway = ServiceProcess("gateway", {**env, "SUPPORT_ADDR": support.address, "ASR_ADDR": ""}, logs).start()
        try:
            yield Edge(gateway.address, database_url, redis_url, prefix)
        finally:
            for process in (gateway, support, orders, catalog):
                process.stop()


def token(role: str) -> str:
    return mint(parse_keys(DEV_AUTH_KEYS), "shop-a", "user-1", role)


def test_every_bad_text_on_converse_is_invalid_argument_and_the_session_goes_on(edge: Edge) -> None:
    corpus = bad_texts()
    before = row_counts(edge.database_url)
    start = gw.ClientMessage(start=gw.SessionStart(language="en")).SerializeToString()
    frames = [start]
    for raw in corpus:  # ClientMessage.text (4) = TextInput.text (1)
        frames.append(_field(4, _field(1, raw)))
    frames.append(b"\xff\xff\xff")  # not a ClientMessage at all
    frames.append(gw.ClientMessage(text=gw.TextInput(text="how many A100 are left")).SerializeToString())
    frames.append(gw.ClientMessage(end=gw.EndSession()).SerializeToString())
    with grpc.insecure_channel(edge.gateway) as channel:
        converse = channel.stream_stream(
            "/shopvoice.gateway.v1.Assistant/Converse",
            request_serializer=lambda raw: raw,
            response_deserializer=gw.ServerMessage.FromString,
        )
        call = converse(iter(frames), metadata=[("authorization", f"Bearer {token('owner')}")], timeout=120)
        replies: list[gw.ServerMessage] = []
        with pytest.raises(grpc.RpcError) as ended:
            for reply in call:
                replies.append(reply)
    # No NLU runs here: the one good turn is never answered, and the stream says so (never OK
    # without a reply).
    assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    assert "REPLY_WAIT_S" in (ended.value.details() or "")  # type: ignore[attr-defined]
    kinds = [r.WhichOneof("kind") for r in replies]
    errors = [r.error for r in replies if r.WhichOneof("kind") == "error"]
    assert kinds[0] == "started"
    assert len(errors) == len(corpus) + 1, kinds[:5]
    assert {e.code for e in errors} == {"INVALID_ARGUMENT"}
    assert all(len(e.message.splitlines()) == 1 and len(e.message) < 300 for e in errors)
    print(f"\nconverse: {len(corpus) + 1} bad frames, each INVALID_ARGUMENT, the session going on")
    client = redis.Redis.from_url(edge.redis_url)
    assert client.xlen(f"{edge.prefix}:transcripts") == 1, "only the one good turn reaches the NLU"
    after = row_counts(edge.database_url)
    assert {k: v for k, v in after.items() if k != "gateway.audit_log"} == {
        k: v for k, v in before.items() if k != "gateway.audit_log"
    }
    assert after.get("gateway.audit_log", 0) - before.get("gateway.audit_log", 0) <= 1  # the good turn's


def test_every_bad_text_on_the_customer_channel_is_invalid_argument(edge: Edge) -> None:
    corpus = bad_texts()
    before = row_counts(edge.database_url)
    codes: dict[str, int] = {}
    with grpc.insecure_channel(edge.gateway) as channel:
        ask = channel.unary_unary(
            "/shopvoice.support.v1.CustomerAssistant/Ask",
            request_serializer=lambda raw: raw,
            response_deserializer=sup.Answer.FromString,
        )
        metadata = [("authorization", f"Bearer {token('customer')}")]
        for raw in corpus:  # AskRequest.text (2)
            try:
                ask(_field(2, raw), metadata=metadata, timeout=10)
                codes["OK"] = codes.get("OK", 0) + 1
            except grpc.RpcError as exc:
                codes[exc.code().name] = codes.get(exc.code().name, 0) + 1  # type: ignore[attr-defined]
        good = ask(
            sup.AskRequest(text="what is your return policy?").SerializeToString(), metadata=metadata, timeout=10
        )
    assert codes == {"INVALID_ARGUMENT": len(corpus)}
    assert good.text, "a good question after the corpus is still answered"
    after = row_counts(edge.database_url)
    changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
    assert set(changed) <= {"support.tickets", "support.turns", "support.conversations", "support.idempotency_keys"}, (
        changed
    )


@pytest.mark.parametrize("first", [b"\xff\xff\xff", _field(4, _field(1, b"\x00")), _field(2, _field(1, b"en\x00"))])
def test_a_bad_first_frame_ends_the_stream_with_invalid_argument(edge: Edge, first: bytes) -> None:
    with grpc.insecure_channel(edge.gateway) as channel:
        converse = channel.stream_stream(
            "/shopvoice.gateway.v1.Assistant/Converse",
            request_serializer=lambda raw: raw,
            response_deserializer=gw.ServerMessage.FromString,
        )
        call = converse(iter([first]), metadata=[("authorization", f"Bearer {token('owner')}")], timeout=10)
        with pytest.raises(grpc.RpcError) as ended:
            list(call)
    assert ended.value.code() == grpc.StatusCode.INVALID_ARGUMENT, ended.value  # type: ignore[attr-defined]
    assert len((ended.value.details() or "").splitlines()) == 1  # type: ignore[attr-defined]
