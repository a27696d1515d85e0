"""The bad-input corpus: hostile requests against the public gateway and the catalog
and orders gRPC APIs. Each gets a clear gRPC status (never UNKNOWN or INTERNAL),
the process stays up and answers health, and nothing is written."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import psycopg
import pytest
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shopvoice.auth import DEV_AUTH_KEYS, mint, parse_keys
from shopvoice.catalog.v1 import catalog_pb2 as cat
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.gateway.v1 import gateway_pb2_grpc
from shopvoice.orders.v1 import orders_pb2 as ords
from shopvoice_cli import demo_shop
from shopvoice_cli.stack import Stack
from tests.reliability.corpus import (
    BAD_DECIMALS,
    CONTROL,
    HOSTILE,
    HUGE,
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    INVISIBLE,
    MALFORMED,
    MB,
    SQL,
)

pytestmark = pytest.mark.e2e

C = grpc.StatusCode
CLEAN = frozenset(
    {
        C.INVALID_ARGUMENT,
        C.NOT_FOUND,
        C.FAILED_PRECONDITION,
        C.UNAUTHENTICATED,
        C.PERMISSION_DENIED,
        C.RESOURCE_EXHAUSTED,
        C.UNIMPLEMENTED,
        C.OUT_OF_RANGE,
    }
)
READ_CLEAN = CLEAN | {C.OK}  # a read may answer a hostile but harmless query
MERCHANT = demo_shop.MERCHANT_ID
SCHEMAS = ("catalog", "orders")


@dataclass(frozen=True)
class Case:
    surface: str
    method: str  # "/pkg.Service/Method"
    payload: bytes
    allowed: frozenset[grpc.StatusCode]
    label: str


def mutation(key: str, merchant_id: str = MERCHANT) -> dict[str, object]:
    return {"merchant_id": merchant_id, "idempotency_key": key}


def money(units: int = 0, nanos: int = 0, currency: str = "") -> Money:
    return Money(units=units, nanos=nanos, currency_code=currency)


BAD_MONEY = (
    money(-1),
    money(-1, -500_000_000),
    money(1, -1),
    money(-1, 1),
    money(0, 1_000_000_000),
    money(0, -1_000_000_000),
    money(0, 1),  # more decimals than the currency has
    money(INT64_MAX),
    money(INT64_MIN),
    money(10**15),
    money(99, 0, "XXX"),
    money(99, 0, "cny"),
    money(99, 0, "USD"),
    money(99, 0, "😀"),
    money(99, 0, "' OR 1=1"),
)


def catalog_cases() -> Iterator[Case]:
    svc = "/shopvoice.catalog.v1.CatalogService/"
    n = iter(range(10**6))

    def case(method: str, message: Message, label: str, read: bool = False) -> Case:
        return Case("catalog", svc + method, message.SerializeToString(), READ_CLEAN if read else CLEAN, label)

    def mut(merchant_id: str = MERCHANT) -> Mutation:
        return Mutation(merchant_id=merchant_id, idempotency_key=f"bad-{next(n)}")

    for s in HOSTILE:
        yield case("SetPrice", cat.SetPriceRequest(mutation=mut(), sku=s, price=money(99)), f"sku {s[:20]!r}")
        yield case("AdjustStock", cat.AdjustStockRequest(mutation=mut(), sku=s, delta=1), f"sku {s[:20]!r}")
        yield case("GetStock", cat.GetStockRequest(merchant_id=MERCHANT, sku=s), f"sku {s[:20]!r}")
        yield case("GetProduct", cat.GetProductRequest(merchant_id=MERCHANT, product_id=s), f"product_id {s[:20]!r}")
        yield case("UndoLastChange", cat.UndoLastChangeRequest(mutation=mut(), change_id=s), f"change_id {s[:20]!r}")
    for s in (*SQL, *CONTROL, *INVISIBLE, *HUGE, "😀" * 70):
        # A merchant that does not exist, or cannot: nothing to change, nothing written.
        yield case("SetStock", cat.SetStockRequest(mutation=mut(s), sku="A100", quantity=5), f"merchant {s[:20]!r}")
        yield case("ListProducts", cat.ListProductsRequest(merchant_id=s), f"merchant {s[:20]!r}", read=True)
        yield case("ListProducts", cat.ListProductsRequest(merchant_id=MERCHANT, page_token=s), "page_token", read=True)
        yield case("SearchProducts", cat.SearchProductsRequest(merchant_id=MERCHANT, query=s), "query", read=True)
    for title in ("", " ", *CONTROL, *INVISIBLE, "x" * 201, *HUGE):
        request = cat.CreateProductRequest(mutation=mut(), title=title, sku="NEW1", price=money(10), quantity=1)
        yield case("CreateProduct", request, f"title {title[:20]!r}")
    for description in ("\x00", "a\x1b[2Jb", "d" * 10_001):
        request = cat.CreateProductRequest(
            mutation=mut(), title="ok", description=description, sku="NEW2", price=money(10)
        )
        yield case("CreateProduct", request, "description")
    for price in BAD_MONEY:
        yield case("SetPrice", cat.SetPriceRequest(mutation=mut(), sku="A100", price=price), f"price {price}")
        if price not in BAD_MONEY[:2]:  # a negative delta is a price cut
            request = cat.AdjustPriceRequest(mutation=mut(), sku="A100", delta=price)
            yield case("AdjustPrice", request, f"delta {price}")
        request = cat.CreateProductRequest(mutation=mut(), title="bad price", sku="NEW3", price=price)
        yield case("CreateProduct", request, f"price {price}")
    yield case("AdjustPrice", cat.AdjustPriceRequest(mutation=mut(), sku="A100", delta=money(-10_000)), "below zero")
    for percent in (*BAD_DECIMALS, "-100.01", "-101", "-1000000", "1e6", "1" * 30):
        request = cat.AdjustPriceRequest(mutation=mut(), sku="A100", percent=percent)
        yield case("AdjustPrice", request, f"percent {percent[:20]!r}")
    for quantity in (-1, INT64_MIN, INT64_MAX, 10**9 + 1):
        yield case("SetStock", cat.SetStockRequest(mutation=mut(), sku="A100", quantity=quantity), f"qty {quantity}")
        request = cat.CreateProductRequest(mutation=mut(), title="q", sku="NEW4", price=money(1), quantity=quantity)
        yield case("CreateProduct", request, f"qty {quantity}")
    for delta in (0, INT64_MAX, INT64_MIN, 10**9 + 1, -(10**9 + 1), -1_000_000):
        yield case("AdjustStock", cat.AdjustStockRequest(mutation=mut(), sku="A100", delta=delta), f"delta {delta}")
    for status in (-1, 999, INT32_MAX):
        yield case("SetProductStatus", cat.SetProductStatusRequest(mutation=mut(), sku="A100", status=status), "enum")  # type: ignore[arg-type]
        yield case("ListProducts", cat.ListProductsRequest(merchant_id=MERCHANT, status=status), "enum", read=True)  # type: ignore[arg-type]
        request = cat.CreateProductRequest(mutation=mut(), title="e", sku="NEW5", price=money(1), status=status)  # type: ignore[arg-type]
        yield case("CreateProduct", request, "enum")
    for size in (-1, INT32_MIN):
        yield case("ListProducts", cat.ListProductsRequest(merchant_id=MERCHANT, page_size=size), "page_size")
    # Missing fields.
    yield case("SetPrice", cat.SetPriceRequest(mutation=mut(), sku="A100"), "no price")
    yield case("SetPrice", cat.SetPriceRequest(sku="A100", price=money(99)), "no mutation")
    yield case("SetPrice", cat.SetPriceRequest(mutation=Mutation(merchant_id=MERCHANT), sku="A100"), "no key")
    request = cat.SetPriceRequest(mutation=Mutation(merchant_id=MERCHANT, idempotency_key="k" * 201), sku="A100")
    yield case("SetPrice", request, "key too long")
    yield case("AdjustPrice", cat.AdjustPriceRequest(mutation=mut(), sku="A100"), "no change")
    yield case("CreateProduct", cat.CreateProductRequest(mutation=mut(), title="no price"), "no price")
    yield case("SearchProducts", cat.SearchProductsRequest(merchant_id=MERCHANT), "no query")
    yield case("SearchProducts", cat.SearchProductsRequest(merchant_id=MERCHANT, query="q" * 201), "long query")
    variants = [cat.NewVariant(sku="DUP1", price=money(1)), cat.NewVariant(sku="DUP1", price=money(2))]
    yield case("CreateProduct", cat.CreateProductRequest(mutation=mut(), title="dup", variants=variants), "dup skus")
    many = [cat.NewVariant(sku=f"V{i}", price=money(1)) for i in range(2000)]
    yield case("CreateProduct", cat.CreateProductRequest(mutation=mut(), title="many", variants=many), "2000 variants")
    for order_id in ("", "\x00", "o" * 65, *INVISIBLE[:2]):
        lines = [cat.ReservationLine(sku="A100", quantity=1)]
        yield case("Reserve", cat.ReserveRequest(mutation=mut(), order_id=order_id, lines=lines), "order_id")
        yield case("Release", cat.ReleaseRequest(mutation=mut(), order_id=order_id), "order_id")
        yield case("CommitReservation", cat.CommitReservationRequest(mutation=mut(), order_id=order_id), "order_id")
    for sku, quantity in (("A100", 0), ("A100", -1), ("A100", INT64_MAX), ("a100", 1), ("\x00", 1)):
        lines = [cat.ReservationLine(sku=sku, quantity=quantity)]
        yield case("Reserve", cat.ReserveRequest(mutation=mut(), order_id="9001", lines=lines), f"line {sku!r}")
    yield case("Reserve", cat.ReserveRequest(mutation=mut(), order_id="9002"), "no lines")
    for method in ("CreateProduct", "SetPrice", "AdjustPrice", "SetStock", "AdjustStock", "SetProductStatus",
                   "UndoLastChange", "Reserve", "Release", "CommitReservation", "GetStock", "GetProduct",
                   "GetVocabulary", "SearchProducts"):  # fmt: skip
        yield Case("catalog", svc + method, b"", CLEAN, "empty request")
        for raw in MALFORMED:
            yield Case("catalog", svc + method, raw, CLEAN, f"malformed {raw[:6]!r}")
        yield Case("catalog", svc + method, b"\x12" + _varint(5 * MB) + b"A" * (5 * MB), CLEAN, "5 MB")


def orders_cases(order_id: str) -> Iterator[Case]:
    svc = "/shopvoice.orders.v1.OrdersService/"
    n = iter(range(10**6))

    def case(method: str, message: Message, label: str, read: bool = False) -> Case:
        return Case("orders", svc + method, message.SerializeToString(), READ_CLEAN if read else CLEAN, label)

    def mut(merchant_id: str = MERCHANT) -> Mutation:
        return Mutation(merchant_id=merchant_id, idempotency_key=f"bad-{next(n)}")

    for s in HOSTILE:
        yield case("GetOrder", ords.GetOrderRequest(merchant_id=MERCHANT, order_id=s), f"order_id {s[:20]!r}")
        yield case("ConfirmOrder", ords.ConfirmOrderRequest(mutation=mut(), order_id=s), f"order_id {s[:20]!r}")
        yield case("CancelOrder", ords.CancelOrderRequest(mutation=mut(), order_id=s), f"order_id {s[:20]!r}")
        if s.strip():  # no carrier at all is allowed
            request = ords.ShipOrderRequest(mutation=mut(), order_id=order_id, carrier=s)
            yield case("ShipOrder", request, f"carrier {s[:20]!r}")
    for s in (*CONTROL, *INVISIBLE, *HUGE, "t" * 65):  # a tracking number may be any printable text
        request = ords.ShipOrderRequest(mutation=mut(), order_id=order_id, carrier="SF", tracking_number=s)
        yield case("ShipOrder", request, f"tracking {s[:20]!r}")
        yield case("ListOrders", ords.ListOrdersRequest(merchant_id=MERCHANT, page_token=s), "page_token", read=True)
        request = ords.ListOrdersRequest(merchant_id=MERCHANT, period=1, time_zone=s)  # type: ignore[arg-type]
        yield case("ListOrders", request, f"time_zone {s[:20]!r}", read=True)
    for s in (*SQL, *CONTROL, *HUGE):
        yield case("RefundOrder", ords.RefundOrderRequest(mutation=mut(s), order_id=order_id), f"merchant {s[:20]!r}")
    for amount in BAD_MONEY:
        yield case("RefundOrder", ords.RefundOrderRequest(mutation=mut(), order_id=order_id, amount=amount), "amount")
        if amount.units < 10**15:  # order lines have no price ceiling
            line = ords.OrderLine(sku="E15", title="t", quantity=1, unit_price=amount)
            request = ords.PlaceOrderRequest(mutation=mut(), lines=[line], customer_ref="c", currency_code="CNY")
            yield case("PlaceOrder", request, f"unit_price {amount}")
    yield case("RefundOrder", ords.RefundOrderRequest(mutation=mut(), order_id=order_id, amount=money(10**6)), "more")
    for rating in (0, 6, -1, INT32_MAX, INT32_MIN):
        yield case("RateOrder", ords.RateOrderRequest(mutation=mut(), order_id=order_id, rating=rating), "rating")
    for review in ("\x00", *HUGE):
        request = ords.RateOrderRequest(mutation=mut(), order_id=order_id, rating=5, review=review)
        yield case("RateOrder", request, "review")
    for quantity in (0, -1, INT64_MAX, INT64_MIN):
        line = ords.OrderLine(sku="E15", title="t", quantity=quantity, unit_price=money(49))
        request = ords.PlaceOrderRequest(mutation=mut(), lines=[line], customer_ref="c", currency_code="CNY")
        yield case("PlaceOrder", request, f"quantity {quantity}")
    for sku in ("", "\x00", *SQL[:3], "A" * 65):
        line = ords.OrderLine(sku=sku, title="t", quantity=1, unit_price=money(49))
        request = ords.PlaceOrderRequest(mutation=mut(), lines=[line], customer_ref="c", currency_code="CNY")
        yield case("PlaceOrder", request, f"sku {sku[:20]!r}")
    for currency in ("XXX", "cny", "😀"):
        line = ords.OrderLine(sku="E15", title="t", quantity=1, unit_price=money(49))
        request = ords.PlaceOrderRequest(mutation=mut(), lines=[line], customer_ref="c", currency_code=currency)
        yield case("PlaceOrder", request, f"currency {currency!r}")
    yield case("PlaceOrder", ords.PlaceOrderRequest(mutation=mut(), customer_ref="c", currency_code="CNY"), "no lines")
    line = ords.OrderLine(sku="E15", title="t", quantity=1, unit_price=money(49))
    yield case("PlaceOrder", ords.PlaceOrderRequest(lines=[line], currency_code="CNY"), "no mutation")
    for status in (-1, 999):
        yield case("ListOrders", ords.ListOrdersRequest(merchant_id=MERCHANT, status=status), "enum")  # type: ignore[arg-type]
        yield case("ListOrders", ords.ListOrdersRequest(merchant_id=MERCHANT, period=status), "enum")  # type: ignore[arg-type]
        request = ords.SalesReportRequest(merchant_id=MERCHANT, metric=status, period=1)  # type: ignore[arg-type]
        yield case("SalesReport", request, "metric enum")
        request = ords.SalesReportRequest(merchant_id=MERCHANT, metric=1, period=status)  # type: ignore[arg-type]
        yield case("SalesReport", request, "period enum")
    for size in (-1, INT32_MIN):
        yield case("ListOrders", ords.ListOrdersRequest(merchant_id=MERCHANT, page_size=size), "page_size")
    for tz in ("Mars/Olympus", "../../etc/passwd", "\x00", "UTC+99"):
        request = ords.SalesReportRequest(merchant_id=MERCHANT, metric=1, period=1, time_zone=tz)  # type: ignore[arg-type]
        yield case("SalesReport", request, f"time_zone {tz!r}")
    for method in ("PlaceOrder", "GetOrder", "ListOrders", "ConfirmOrder", "ShipOrder", "CancelOrder", "RefundOrder",
                   "SalesReport", "MarkDelivered", "RateOrder", "GetOrderVocabulary"):  # fmt: skip
        yield Case("orders", svc + method, b"", CLEAN, "empty request")
        for raw in MALFORMED:
            yield Case("orders", svc + method, raw, CLEAN, f"malformed {raw[:6]!r}")
        yield Case("orders", svc + method, b"\x12" + _varint(5 * MB) + b"A" * (5 * MB), CLEAN, "5 MB")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


# -- the gateway ------------------------------------------------------------------------------

GatewayScript = list[gw.ClientMessage]


@dataclass(frozen=True)
class GatewayCase:
    label: str
    messages: GatewayScript
    metadata: tuple[tuple[str, str], ...]
    # The gateway refuses before reading the turn (a bad token, a bad start). The aio client that
    # writes after such a refusal reports INTERNAL "Internal error from Core" now and then instead of
    # the server's status (grpc/grpc#36066, a client-side bug), which would hide what the server
    # said; the sync client reports the server's status either way.
    refused_early: bool = False


def token(merchant_id: str = MERCHANT, role: str = "owner", ttl_s: int = 600) -> str:
    return mint(parse_keys(DEV_AUTH_KEYS), merchant_id, "owner-1", role, ttl_s)


def gateway_cases() -> Iterator[GatewayCase]:
    auth = (("authorization", f"Bearer {token()}"),)
    start = gw.ClientMessage(start=gw.SessionStart(language="en-US"))
    end = gw.ClientMessage(end=gw.EndSession())

    def text(s: str, language: str = "en-US") -> GatewayCase:
        return GatewayCase(
            f"text {s[:20]!r}" + ("" if language in ("en-US", "zh-CN") else f" language {language[:20]!r}"),
            [gw.ClientMessage(start=gw.SessionStart(language=language)), gw.ClientMessage(text=gw.TextInput(text=s))],
            auth,
            refused_early=language not in ("en-US", "zh-CN"),
        )

    extra = (
        "set the price of A100' OR '1'='1 to 99",
        "把A100'; DROP TABLE variants; --的价格改成99元",
        "show product A\u200b100\u202e; DROP TABLE variants",
        "add 5 units of А100",  # Cyrillic А
        "set the price of A100 to -99",
        "set the price of A100 to 99999999999999999999999",
        "add 99999999999999999999 units of A100",
        "add -5 units of ZZZ9",
        "把A100的价格改成NaN元",
        "refund order 1' OR 1=1",
        "ship order ../../etc/passwd",
        "A100" * 500,
        "价" * 2001,
        "x" * 2001,
    )
    for s in (*HOSTILE, *extra):
        yield text(s)
        if s in extra[:6]:
            yield text(s, "zh-CN")
    for s in ("😀", "' OR '1'='1", "\x00"):
        yield text(s, language=s)
    audio = (b"", b"\x00", b"RIFF\xff\xff\xff\xffWAVEfmt ", bytes(range(256)) * 256, b"\x7f" * MB)
    for chunk in audio:
        yield GatewayCase(
            f"audio {len(chunk)} bytes",
            [start, gw.ClientMessage(audio=gw.AudioChunk(content=chunk, end_of_utterance=True))],
            auth,
        )
    for encoding, rate in ((999, 16000), (-1, 16000), (1, -1), (1, INT32_MAX), (1, 0)):
        session = gw.SessionStart(language="zh-CN", encoding=encoding, sample_rate_hz=rate)  # type: ignore[arg-type]
        messages = [gw.ClientMessage(start=session)]
        if (encoding, rate) == (1, 0):  # a valid start (0 = 16 kHz): its audio is heard out
            messages.append(gw.ClientMessage(audio=gw.AudioChunk(content=b"\x00\x01" * 800)))
        refused = (encoding, rate) != (1, 0)
        yield GatewayCase(f"session encoding {encoding} rate {rate}", messages, auth, refused_early=refused)
    # Protocol: the first message must start the session; odd orders of messages.
    yield GatewayCase("no start", [gw.ClientMessage(text=gw.TextInput(text="add 1 units of A100"))], auth)
    yield GatewayCase("only end", [end], auth)
    yield GatewayCase("empty message", [gw.ClientMessage()], auth)
    yield GatewayCase("two starts", [start, start], auth)
    yield GatewayCase("empty oneof after start", [start, gw.ClientMessage()], auth)
    yield GatewayCase("confirm with nothing pending", [start, gw.ClientMessage(confirm=gw.ConfirmAction())], auth)
    yield GatewayCase("cancel with nothing pending", [start, gw.ClientMessage(cancel=gw.CancelAction())], auth)
    yield GatewayCase("no messages", [], auth)
    # Authentication: the gateway refuses before reading the turn.
    text_turn = [start]
    bad_tokens = (
        (),
        (("authorization", "Bearer"),),
        (("authorization", "Bearer "),),
        (("authorization", "Basic dXNlcjpwYXNz"),),
        (("authorization", "Bearer not.a.jwt"),),
        (("authorization", "Bearer " + "A" * 6000),),
        (("authorization", "Bearer eyJhbGciOiJub25lIn0.eyJtZXJjaGFudF9pZCI6ImRlbW8tc2hvcCJ9."),),  # alg none
        (("authorization", f"Bearer {token(ttl_s=-10)}"),),  # expired
        (("authorization", f"Bearer {token()[:-4]}AAAA"),),  # bad signature
        (("authorization", "Bearer ' OR '1'='1"),),
    )
    for metadata in bad_tokens:
        label = f"token {metadata[0][1][:30]!r}" if metadata else "no token"
        yield GatewayCase(label, text_turn, metadata, refused_early=True)


def run_gateway_case_sync(address: str, case: GatewayCase) -> tuple[grpc.StatusCode, list[gw.ServerMessage], str]:
    with grpc.insecure_channel(address) as channel:
        stub = gateway_pb2_grpc.AssistantStub(channel)
        try:
            received = list(stub.Converse(iter(case.messages), metadata=case.metadata, timeout=30))
        except grpc.RpcError as exc:
            return exc.code(), [], exc.details() or ""  # type: ignore[attr-defined]
    return C.OK, received, ""


async def run_gateway_case(address: str, case: GatewayCase) -> tuple[grpc.StatusCode, list[gw.ServerMessage], str]:
    """Send the script, then read until a terminal message or the end; the call's status and what came back."""
    if case.refused_early:
        return await asyncio.to_thread(run_gateway_case_sync, address, case)
    async with grpc.aio.insecure_channel(
        address, options=[("grpc.max_send_message_length", 8 * MB), ("grpc.max_receive_message_length", 8 * MB)]
    ) as channel:
        stub = gateway_pb2_grpc.AssistantStub(channel)

        async def requests() -> object:
            for message in case.messages:
                yield message
            if case.messages:
                await asyncio.sleep(30)  # keep the stream open while replies come

        # Audio goes through the ASR, which decodes noise with its free-speech model too: slower.
        call = stub.Converse(requests(), metadata=case.metadata, timeout=120 if "audio" in case.label else 30)
        received: list[gw.ServerMessage] = []
        try:
            async for message in call:
                received.append(message)
                kind = message.WhichOneof("kind")
                if kind in ("result", "confirmation", "clarification", "error"):
                    call.cancel()
                    return C.OK, received, ""
            return C.OK, received, ""
        except grpc.aio.AioRpcError as exc:
            return exc.code(), received, exc.details() or ""


def gateway_answer_is_clean(code: grpc.StatusCode, received: list[gw.ServerMessage]) -> str:
    """'' when clean, else why not."""
    if code != C.OK:
        return "" if code in CLEAN else f"status {code.name}"
    for message in received:
        kind = message.WhichOneof("kind")
        if kind == "error" and message.error.code not in {c.name for c in CLEAN}:
            return f"error message with code {message.error.code}"
        if kind == "result" and message.result.grpc_code in ("UNKNOWN", "INTERNAL"):
            return f"result with {message.result.grpc_code}"
    return ""


# -- the test -----------------------------------------------------------------------------------


def row_counts(database_url: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE'",
            (list(SCHEMAS),),
        ).fetchall()
        for schema, table in tables:
            row = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
            counts[f"{schema}.{table}"] = int(row[0]) if row else 0
        # Values, not only counts: a refused update changes no price or stock.
        state = conn.execute(
            "SELECT coalesce(sum(hashtext(sku || price::text || on_hand::text || committed::text || version::text)), 0)"
            " FROM catalog.variants"
        ).fetchone()
        counts["catalog.variants state"] = int(state[0]) if state else 0
        orders = conn.execute("SELECT coalesce(sum(hashtext(o::text)), 0) FROM orders.orders o").fetchone()
        counts["orders.orders state"] = int(orders[0]) if orders else 0
    return counts


def serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        except grpc.RpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def call_raw(address: str, case: Case) -> grpc.StatusCode:
    with grpc.insecure_channel(
        address, options=[("grpc.max_send_message_length", 8 * MB), ("grpc.max_receive_message_length", 8 * MB)]
    ) as channel:
        method: Callable[..., bytes] = channel.unary_unary(
            case.method, request_serializer=None, response_deserializer=None
        )
        try:
            method(case.payload, timeout=30)
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
    return C.OK


def test_bad_input_gets_clean_statuses_and_writes_nothing(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    order_id = demo_shop.place_order(f"127.0.0.1:{stack.ports['orders']}")
    addresses = {name: process.address for name, process in stack.processes.items()}
    before = row_counts(stack.database_url)
    tried: Counter[str] = Counter()
    failures: list[str] = []

    for case in [*catalog_cases(), *orders_cases(order_id)]:
        code = call_raw(addresses[case.surface], case)
        tried[case.surface] += 1
        if code not in case.allowed:
            failures.append(f"{case.surface} {case.method.rsplit('/', 1)[1]} {case.label}: {code.name}")
        if not stack.processes[case.surface].alive():
            pytest.fail(f"{case.surface} died on {case.method} {case.label}")

    async def all_gateway_cases() -> None:
        limit = asyncio.Semaphore(8)

        async def one(case: GatewayCase) -> None:
            async with limit:
                code, received, details = await run_gateway_case(addresses["gateway"], case)
            tried["gateway"] += 1
            if why := gateway_answer_is_clean(code, received):
                failures.append(f"gateway {case.label}: {why} ({details[:200]})")

        await asyncio.gather(*(one(case) for case in gateway_cases()))

    asyncio.run(all_gateway_cases())

    for name, address in addresses.items():
        assert stack.processes[name].alive() and serving(address), f"{name} is down after the corpus"
    after = row_counts(stack.database_url)
    written = {table: (before[table], after.get(table)) for table in before if after.get(table) != before[table]}
    with capsys.disabled():
        print("\nbad inputs tried per surface: " + ", ".join(f"{k} {v}" for k, v in sorted(tried.items()))
              + f"; total {sum(tried.values())}")  # fmt: skip
    assert not failures, f"{len(failures)} unclean answers:\n" + "\n".join(failures)
    assert not written, f"bad input wrote to {written}"
    assert sum(tried.values()) >= 300
