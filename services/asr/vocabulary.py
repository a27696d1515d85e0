"""The merchant's words the recogniser must know: SKUs, product titles, order numbers.

SKUs and titles come from the catalog's GetVocabulary RPC when CATALOG_ADDR is set,
the highest order number from the orders service's GetOrderVocabulary when
ORDERS_ADDR is set; both are refreshed every ASR_VOCABULARY_REFRESH_S, and the products as
soon as the catalog's event stream says they changed and then stayed unchanged for
ASR_VOCABULARY_SETTLE_S (at most ASR_VOCABULARY_MAX_DELAY_S after the change). Without them (and until they
first answer) the demo shop's products are used and any order number is heard, so
the service works on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import grpc

from shopvoice import grpc_server, log
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc


@dataclass(frozen=True)
class Vocabulary:
    """(SKU, title) pairs ("A100", "red t-shirt"), with the catalog's revision to skip needless rebuilds."""

    products: tuple[tuple[str, str], ...]
    revision: int = 0
    # The highest order number the grammar hears (order_bound of the shop's last one); 0 = any.
    order_id_max: int = 0

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(sorted({sku for sku, _ in self.products if sku}))

    @property
    def titles(self) -> tuple[str, ...]:
        return tuple(sorted({title for _, title in self.products if title}))


DEMO_VOCABULARY = Vocabulary(
    products=(
        ("A100", "red t-shirt"),
        ("B200", "blue jeans"),
        ("C7", "coffee mug"),
        ("D42", "phone case"),
        ("E15", "water bottle"),
    )
)


async def fetch(catalog_addr: str, merchant_id: str, timeout_s: float) -> Vocabulary:
    """One GetVocabulary call, with a deadline."""
    async with grpc_server.channel(catalog_addr) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        reply = await stub.GetVocabulary(catalog_pb2.GetVocabularyRequest(merchant_id=merchant_id), timeout=timeout_s)
    return Vocabulary(products=products_of(reply.entries), revision=reply.revision)


def products_of(entries: Iterable[catalog_pb2.VocabularyEntry]) -> tuple[tuple[str, str], ...]:
    """(SKU, title) pairs, a product's English title before its own: a shop's own titles may be
    Chinese (the demo shop's are), which the English grammar cannot pronounce and whisper, primed
    with them, copied into English transcripts; with only those, no product could be named aloud."""
    products: list[tuple[str, str]] = []
    for entry in entries:
        sku = entry.sku.strip().upper()
        if not sku:
            continue
        titles = dict.fromkeys(t.strip().lower() for t in (entry.title_en, entry.title) if t.strip())
        products += [(sku, title) for title in titles] or [(sku, "")]
    return tuple(products)


async def fetch_last_order_id(orders_addr: str, merchant_id: str, timeout_s: float) -> int:
    """One GetOrderVocabulary call: the merchant's highest order number (0 before the first)."""
    async with grpc_server.channel(orders_addr) as channel:
        stub = orders_pb2_grpc.OrdersServiceStub(channel)
        reply = await stub.GetOrderVocabulary(
            orders_pb2.GetOrderVocabularyRequest(merchant_id=merchant_id), timeout=timeout_s
        )
    return int(reply.last_order_id)


def order_bound(last_order_id: int, headroom: int) -> int:
    """The highest order number to hear: more than `headroom` and at most `2 * headroom` past the last.

    Orders placed after a refresh must be heard before the next, so the bound runs ahead of
    the last order; it moves in steps of `headroom`, so the grammar is rebuilt once every
    `headroom` orders, not on every refresh of a busy shop.
    """
    return (last_order_id // headroom + 2) * headroom


async def refresh_forever(
    catalog_addr: str,
    orders_addr: str,
    merchant_id: str,
    interval_s: float,
    timeout_s: float,
    order_id_headroom: int,
    on_change: Callable[[Vocabulary], None],
    initial: Vocabulary = DEMO_VOCABULARY,
    products_changed: asyncio.Event | None = None,
    settle_s: float = 0.0,
    max_delay_s: float = 0.0,
) -> None:
    """Poll the catalog and the orders service (either address may be empty); call on_change
    when the products' revision or the order number bound moves. A source that fails keeps
    its last answer.

    products_changed (set by the catalog event follower) cuts the wait short, so a new product's
    SKU and title are heard within seconds, not at the next poll. The fetch waits until the catalog
    has been quiet for settle_s, but no longer than max_delay_s after the first change: a bulk import
    is an event per product for a minute, and a grammar build per few seconds of it took the CPU the
    merchants' speech needed (one build takes a few CPU seconds), while a single new product is
    fetched settle_s after it is created."""
    logger = log.get().bind(component="vocabulary")
    current = initial  # what the engine was built with
    products, revision, order_id_max = initial.products, initial.revision, initial.order_id_max
    while True:
        if catalog_addr:
            try:
                fetched = await fetch(catalog_addr, merchant_id, timeout_s)
                products, revision = fetched.products, fetched.revision
            except grpc.aio.AioRpcError as exc:
                logger.warning("catalog vocabulary unavailable; keeping the last one", code=exc.code().name)
        if orders_addr:
            try:
                last = await fetch_last_order_id(orders_addr, merchant_id, timeout_s)
                order_id_max = order_bound(last, order_id_headroom)
            except grpc.aio.AioRpcError as exc:
                logger.warning("order numbers unavailable; keeping the last bound", code=exc.code().name)
        vocabulary = Vocabulary(products=products, revision=revision, order_id_max=order_id_max)
        if vocabulary != current:
            current = vocabulary
            on_change(vocabulary)
            logger.info("vocabulary loaded", skus=len(vocabulary.skus), revision=revision, order_id_max=order_id_max)
        if products_changed is None:
            await asyncio.sleep(interval_s)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(products_changed.wait(), interval_s)
        await _settled(products_changed, settle_s, max_delay_s)


async def _settled(changed: asyncio.Event, settle_s: float, max_delay_s: float) -> None:
    """Return once no change has come for settle_s, or max_delay_s after the first (changed is set
    when called for a change); changed is clear on return, so one during the fetch wakes the next."""
    first = time.monotonic()
    while changed.is_set():
        changed.clear()
        left = first + max_delay_s - time.monotonic()
        if left <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), min(settle_s, left))
