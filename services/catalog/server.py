"""The catalog's gRPC boundary: requests in, domain calls, messages out.

Domain errors raised below become gRPC statuses in `@grpc_boundary`. Every
mutating call is one transaction with its idempotency key: `Mutations.run`, or
for SetPrice, SetStock and AdjustStock first the one-statement `fastpath`. The
pool is in autocommit, so a read outside a transaction is one round trip.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

import grpc

from services.catalog import facts, fastpath, guardrails, history, inventory, pricing, products, reservations, store
from services.catalog.config import CatalogSettings
from services.catalog.events import CatalogEvents
from services.catalog.messages import STATUS_FROM_DB, STATUS_TO_DB, Row, to_product, to_products, to_variant
from services.catalog.mutations import Mutations, expected_version
from services.catalog.search import fold, fold_sku
from services.catalog.validation import validate_price
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.mutation_pb2 import ChangeRecord, Mutation
from shopvoice.db import Conn, Pool
from shopvoice.errors import InvalidArgument, NotFound, grpc_boundary
from shopvoice.identifiers import require_merchant, validate_sku

Context = grpc.aio.ServicerContext
# What a variant's change gives back: the row after it, its change id, its summary, its audit record.
Changed = tuple[Row, str, str, ChangeRecord]
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 250  # as Shopify's Admin API
MAX_QUERY_CHARS = 200


def _result(merchant_id: str, rows: list[Row], sku: str, change_id: str, summary: str) -> pb.MutationResult:
    return pb.MutationResult(product=to_product(merchant_id, rows), sku=sku, change_id=change_id, summary=summary)


def _reservation_result(outcome: reservations.Outcome) -> pb.ReservationResult:
    return pb.ReservationResult(
        order_id=outcome.order_id,
        accepted=outcome.accepted,
        reason=outcome.reason,
        lines=[pb.ReservationLine(sku=s, quantity=q) for s, q in sorted(outcome.lines.items())],
    )


def _page_token(row: Row) -> str:
    return base64.urlsafe_b64encode(f"{row['created_at'].isoformat()}|{row['product_id']}".encode()).decode()


def _parse_page_token(token: str) -> tuple[datetime, Any] | None:
    if not token:
        return None
    try:
        created, product_id = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        return datetime.fromisoformat(created), store.parse_product_id(product_id)
    except (ValueError, InvalidArgument) as exc:
        raise InvalidArgument("page_token is not one this service gave out; start again without it") from exc


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, pool: Pool, settings: CatalogSettings) -> None:
        self.pool = pool
        self.settings = settings
        self.events = CatalogEvents(settings.redis_keys.catalog_events)
        self.mutations = Mutations(pool)
        self.fast = fastpath.FastChanges(pool, self.events.stream, settings.max_price)
        self.facts = facts.ProductFactsService(pool)

    # -- products ---------------------------------------------------------------

    @grpc_boundary
    async def CreateProduct(self, request: pb.CreateProductRequest, context: Context) -> pb.MutationResult:
        async def apply(conn: Conn, merchant_id: str) -> pb.MutationResult:
            rows, summary = await products.create(
                conn, self.events, merchant_id, request, self.settings.default_currency, self.settings.max_price
            )
            return _result(merchant_id, rows, rows[0]["sku"], "", summary)

        return await self.mutations.run("CreateProduct", request, request.mutation, pb.MutationResult, apply)

    @grpc_boundary
    async def GetProduct(self, request: pb.GetProductRequest, context: Context) -> pb.Product:
        merchant_id = require_merchant(request.merchant_id)
        async with self.pool.connection() as conn:
            if request.WhichOneof("ref") == "product_id":
                rows = await store.product_rows(conn, merchant_id, store.parse_product_id(request.product_id))
                if not rows:
                    raise NotFound(f"no product {request.product_id} in this shop")
            else:
                rows = await store.product_rows_for_sku(conn, merchant_id, validate_sku(request.sku))
        return to_product(merchant_id, rows)

    @grpc_boundary
    async def ListProducts(self, request: pb.ListProductsRequest, context: Context) -> pb.ListProductsResponse:
        merchant_id = require_merchant(request.merchant_id)
        if request.page_size < 0:
            raise InvalidArgument("page_size cannot be negative")
        size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        status = STATUS_TO_DB.get(request.status)
        after = _parse_page_token(request.page_token)
        async with self.pool.connection() as conn:
            rows = await store.list_products(conn, merchant_id, status, after, size + 1)
        found = to_products(merchant_id, rows)
        reply = pb.ListProductsResponse(products=found[:size])
        if len(found) > size:
            last = next(r for r in rows if str(r["product_id"]) == found[size - 1].product_id)
            reply.next_page_token = _page_token(last)
        return reply

    @grpc_boundary
    async def SearchProducts(self, request: pb.SearchProductsRequest, context: Context) -> pb.SearchProductsResponse:
        merchant_id = require_merchant(request.merchant_id)
        query = fold(request.query)
        if not query or len(query) > MAX_QUERY_CHARS:
            raise InvalidArgument(f"query is required (1-{MAX_QUERY_CHARS} characters): a SKU or words of a title")
        limit = min(request.limit or 20, 100)
        async with self.pool.connection() as conn:
            rows = await store.search(conn, merchant_id, query, fold_sku(request.query), limit)
        return pb.SearchProductsResponse(matches=[to_variant(r) for r in rows])

    @grpc_boundary
    async def GetVocabulary(self, request: pb.GetVocabularyRequest, context: Context) -> pb.Vocabulary:
        merchant_id = require_merchant(request.merchant_id)
        async with self.pool.connection() as conn:
            rows = await store.vocabulary(conn, merchant_id)
        vocab = pb.Vocabulary(
            entries=[
                pb.VocabularyEntry(
                    sku=r["sku"],
                    title=r["title"],
                    product_id=str(r["product_id"]),
                    title_en=r["title_en"],
                    description=r["description"],
                    status=STATUS_FROM_DB[r["status"]],
                )
                for r in rows
            ]
        )
        # A digest of the entries: equal lists, equal revision; any change, a new one.
        digest = hashlib.sha256(b"".join(e.SerializeToString(deterministic=True) for e in vocab.entries)).digest()
        vocab.revision = int.from_bytes(digest[:8], "big") >> 1
        return vocab

    # -- product facts ----------------------------------------------------------

    @grpc_boundary
    async def SetProductFact(self, request: pb.SetProductFactRequest, context: Context) -> pb.ProductFacts:
        return await self.facts.set(request)

    @grpc_boundary
    async def GetProductFacts(self, request: pb.GetProductFactsRequest, context: Context) -> pb.ProductFacts:
        return await self.facts.get(request)

    @grpc_boundary
    async def SetProductStatus(self, request: pb.SetProductStatusRequest, context: Context) -> pb.MutationResult:
        sku = validate_sku(request.sku)
        status = products.status_name(request.status)
        author = history.Author.of(request.mutation.actor, "SetProductStatus")

        async def apply(conn: Conn, merchant_id: str) -> pb.MutationResult:
            product = await products.lock_product_of_sku(conn, merchant_id, sku)
            store.check_version(product["version"], expected_version(request.mutation), f"product of {sku}")
            rows, change_id, summary = await products.change_status(
                conn, self.events, merchant_id, sku, product, status, author
            )
            result = _result(merchant_id, rows, sku, change_id, summary)
            if change_id:  # what changed, for the NLU to say it in the merchant's language
                result.record.CopyFrom(
                    guardrails.record(request.mutation, change_id, sku, "status", product["status"], status)
                )
            return result

        return await self.mutations.run("SetProductStatus", request, request.mutation, pb.MutationResult, apply)

    # -- prices and stock: the hot path ------------------------------------------

    async def _guarded_price(
        self,
        conn: Conn,
        merchant_id: str,
        mutation: Mutation,
        row: Row,
        price: Decimal,
        author: history.Author,
        undo_of: str | None = None,
    ) -> Changed:
        """A price change the merchant's guardrails allow (or a person confirmed), recorded as such."""
        rule = await guardrails.check(conn, merchant_id, mutation, row["sku"], row["price"], price)
        after, change_id, summary = await pricing.change_price(
            conn, self.events, merchant_id, row, price, author, undo_of
        )
        await guardrails.stamp(conn, merchant_id, change_id, mutation, rule)
        return after, change_id, summary, guardrails.price_record(mutation, change_id, after, row["price"], rule)

    async def _change_variant(self, method: str, request: Any, sku: str, change: Any) -> pb.MutationResult:
        """Lock the SKU (before the key's claim), check the expected version,
        let `change(conn, merchant_id, row)` write, answer with the whole product."""
        mutation: Mutation = request.mutation
        locked: list[Any] = []  # the SKU's row (locked) and its siblings, as `lock` read them

        async def lock(conn: Conn, merchant_id: str) -> None:
            locked.append(await store.select_variant_for_update(conn, merchant_id, sku))
            locked.append(await store.select_siblings(conn, merchant_id, sku))

        async def apply(conn: Conn, merchant_id: str) -> pb.MutationResult:
            target, siblings = locked
            row = await target.fetchone()
            if row is None:
                raise store.no_such_sku(sku)
            others = [dict(r) for r in await siblings.fetchall()]
            store.check_version(row["version"], expected_version(mutation), f"SKU {sku}")
            after, change_id, summary, record = await change(conn, merchant_id, dict(row))
            result = _result(merchant_id, [after, *others], sku, change_id, summary)
            result.record.CopyFrom(record)
            return result

        return await self.mutations.run(method, request, mutation, pb.MutationResult, apply, lock)

    @grpc_boundary
    async def SetPrice(self, request: pb.SetPriceRequest, context: Context) -> pb.MutationResult:
        sku = validate_sku(request.sku)
        author = history.Author.of(request.mutation.actor, "SetPrice")
        if not request.HasField("price"):
            raise InvalidArgument("price is required")
        price = fastpath.price_value(request.price) if fastpath.key_ok(request.mutation) else None
        if price is not None:

            def explain(row: Row) -> object:
                return validate_price(request.price, row["currency_code"], self.settings.max_price)

            try:
                return await self.fast.change("SetPrice", request, sku, author, explain, price=price)
            except fastpath.Fallback:
                pass

        async def change(conn: Conn, merchant_id: str, row: Row) -> Changed:
            price = validate_price(request.price, row["currency_code"], self.settings.max_price)
            return await self._guarded_price(conn, merchant_id, request.mutation, row, price, author)

        return await self._change_variant("SetPrice", request, sku, change)

    @grpc_boundary
    async def AdjustPrice(self, request: pb.AdjustPriceRequest, context: Context) -> pb.MutationResult:
        sku = validate_sku(request.sku)
        author = history.Author.of(request.mutation.actor, "AdjustPrice")
        which = request.WhichOneof("change")
        if which is None:
            raise InvalidArgument('say how to change the price: a percent ("-20") or a delta amount')
        percent = request.percent if which == "percent" else None
        delta = request.delta if which == "delta" else None
        if fastpath.key_ok(request.mutation):
            exact_percent = fastpath.percent_value(percent) if percent is not None else None
            price_delta = fastpath.price_value(delta) if delta is not None else None
            if exact_percent is not None or price_delta is not None:

                def explain(row: Row) -> object:
                    return pricing.new_price_for(row, percent, delta, self.settings.max_price)

                try:
                    return await self.fast.change(
                        "AdjustPrice", request, sku, author, explain, percent=exact_percent, price_delta=price_delta
                    )
                except fastpath.Fallback:
                    pass

        async def change(conn: Conn, merchant_id: str, row: Row) -> Changed:
            price = pricing.new_price_for(row, percent, delta, self.settings.max_price)
            return await self._guarded_price(conn, merchant_id, request.mutation, row, price, author)

        return await self._change_variant("AdjustPrice", request, sku, change)

    @grpc_boundary
    async def SetStock(self, request: pb.SetStockRequest, context: Context) -> pb.MutationResult:
        return await self._change_stock("SetStock", request, quantity=request.quantity)

    @grpc_boundary
    async def AdjustStock(self, request: pb.AdjustStockRequest, context: Context) -> pb.MutationResult:
        return await self._change_stock("AdjustStock", request, delta=request.delta)

    async def _change_stock(
        self,
        method: str,
        request: pb.SetStockRequest | pb.AdjustStockRequest,
        quantity: int | None = None,
        delta: int | None = None,
    ) -> pb.MutationResult:
        """Set (quantity) or adjust (delta) on hand: the SQL fast path, else the general one."""
        sku = validate_sku(request.sku)
        author = history.Author.of(request.mutation.actor, method)
        if fastpath.key_ok(request.mutation) and fastpath.stock_ok(quantity, delta):

            def explain(row: Row) -> object:
                return inventory.new_on_hand(row, quantity=quantity, delta=delta)

            try:
                return await self.fast.change(method, request, sku, author, explain, quantity=quantity, delta=delta)
            except fastpath.Fallback:
                pass

        async def change(conn: Conn, merchant_id: str, row: Row) -> Changed:
            on_hand = inventory.new_on_hand(row, quantity=quantity, delta=delta)
            rule = await guardrails.check(conn, merchant_id, request.mutation, sku)
            after, change_id, summary = await inventory.change_on_hand(
                conn, self.events, merchant_id, row, on_hand, author
            )
            await guardrails.stamp(conn, merchant_id, change_id, request.mutation, rule)
            record = guardrails.record(
                request.mutation, change_id, sku, "stock", str(row["on_hand"]), str(on_hand), rule
            )
            return after, change_id, summary, record

        return await self._change_variant(method, request, sku, change)

    @grpc_boundary
    async def GetStock(self, request: pb.GetStockRequest, context: Context) -> pb.Variant:
        merchant_id = require_merchant(request.merchant_id)
        sku = validate_sku(request.sku)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {store.VARIANT_COLUMNS} FROM {store.VARIANTS} WHERE v.merchant_id = %s AND v.sku = %s",
                (merchant_id, sku),
            )
            row = await cur.fetchone()
        if row is None:
            raise store.no_such_sku(sku)
        return to_variant(dict(row))

    # -- undo -----------------------------------------------------------------------

    @grpc_boundary
    async def UndoLastChange(self, request: pb.UndoLastChangeRequest, context: Context) -> pb.MutationResult:
        author = history.Author.of(request.mutation.actor, "UndoLastChange")

        async def apply(conn: Conn, merchant_id: str) -> pb.MutationResult:
            change = await history.change_to_undo(conn, merchant_id, author.user_id, request.change_id)
            sku, kind, undo_of = change["sku"], change["kind"], str(change["change_id"])
            if kind == "status":
                product = await products.lock_product_of_sku(conn, merchant_id, sku)
                store.check_version(product["version"], expected_version(request.mutation), f"product of {sku}")
                await history.refuse_if_changed_since(conn, change, product["version"])
                rows, change_id, summary = await products.change_status(
                    conn, self.events, merchant_id, sku, product, change["old_value"], author, undo_of
                )
                result = _result(merchant_id, rows, sku, change_id, f"undone: {summary}")
                result.record.CopyFrom(
                    guardrails.record(
                        request.mutation, change_id, sku, "status", product["status"], change["old_value"]
                    )
                )
                return result
            row = await store.variant_for_update(conn, merchant_id, sku)
            store.check_version(row["version"], expected_version(request.mutation), f"SKU {sku}")
            await history.refuse_if_changed_since(conn, change, row["version"])
            if kind == "price":
                after, change_id, summary, record = await self._guarded_price(
                    conn, merchant_id, request.mutation, row, Decimal(change["old_value"]), author, undo_of
                )
            else:
                on_hand = int(change["old_value"])
                after, change_id, summary = await inventory.change_on_hand(
                    conn, self.events, merchant_id, row, on_hand, author, undo_of
                )
                record = guardrails.record(request.mutation, change_id, sku, "stock", str(row["on_hand"]), str(on_hand))
            rows = [after, *(r for r in await store.product_rows_for_sku(conn, merchant_id, sku) if r["sku"] != sku)]
            result = _result(merchant_id, rows, sku, change_id, f"undone: {summary}")
            result.record.CopyFrom(record)
            return result

        return await self.mutations.run("UndoLastChange", request, request.mutation, pb.MutationResult, apply)

    # -- guardrails ------------------------------------------------------------------------

    @grpc_boundary
    async def GetGuardrailPolicy(self, request: pb.GetGuardrailPolicyRequest, context: Context) -> pb.GuardrailPolicy:
        merchant_id = require_merchant(request.merchant_id)
        async with self.pool.connection() as conn:
            return guardrails.to_message(merchant_id, await guardrails.read(conn, merchant_id))

    @grpc_boundary
    async def SetGuardrailPolicy(self, request: pb.SetGuardrailPolicyRequest, context: Context) -> pb.GuardrailPolicy:
        async def apply(conn: Conn, merchant_id: str) -> pb.GuardrailPolicy:
            return guardrails.to_message(merchant_id, await guardrails.change(conn, merchant_id, request))

        return await self.mutations.run("SetGuardrailPolicy", request, request.mutation, pb.GuardrailPolicy, apply)

    # -- reservations ------------------------------------------------------------------

    @grpc_boundary
    async def Reserve(self, request: pb.ReserveRequest, context: Context) -> pb.ReservationResult:
        lines = reservations.parse_lines((line.sku, line.quantity) for line in request.lines)

        async def apply(conn: Conn, merchant_id: str) -> pb.ReservationResult:
            outcome = await reservations.reserve(conn, self.events, merchant_id, request.order_id, lines)
            return _reservation_result(outcome)

        return await self.mutations.run("Reserve", request, request.mutation, pb.ReservationResult, apply)

    @grpc_boundary
    async def Release(self, request: pb.ReleaseRequest, context: Context) -> pb.ReservationResult:
        lines = reservations.parse_lines(((line.sku, line.quantity) for line in request.lines), required=False)

        async def apply(conn: Conn, merchant_id: str) -> pb.ReservationResult:
            outcome = await reservations.release(conn, self.events, merchant_id, request.order_id, lines)
            return _reservation_result(outcome)

        return await self.mutations.run("Release", request, request.mutation, pb.ReservationResult, apply)

    @grpc_boundary
    async def CommitReservation(self, request: pb.CommitReservationRequest, context: Context) -> pb.ReservationResult:
        async def apply(conn: Conn, merchant_id: str) -> pb.ReservationResult:
            outcome = await reservations.commit(conn, self.events, merchant_id, request.order_id)
            return _reservation_result(outcome)

        return await self.mutations.run("CommitReservation", request, request.mutation, pb.ReservationResult, apply)
