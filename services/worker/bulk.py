"""Bulk price changes ("所有T恤涨价10%"): a snapshot of the SKUs, then batches of AdjustPrice.

Exactly once per SKU, however often a task is redelivered: every AdjustPrice
carries the idempotency key `bulk:{job_id}:{sku}` and the same actor, so the
catalog replays the first result of a key instead of changing the price again.
The job's Redis state (jobs.py) only saves work and counts: a batch redelivered
after a SIGKILL skips SKUs with a recorded outcome and re-asks the catalog for
the others, which either applies the change for the first time or replays it.

`bulk_adjust_price` takes the snapshot and enqueues one `bulk_adjust_batch` per
BULK_BATCH_SIZE SKUs (seconds each, far below the visibility timeout); each batch
sends a Progress to the session, and the batch that completes the job sends the
summary, once (once.py).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from decimal import Decimal
from typing import Any, TypeVar

import grpc
import redis.asyncio as aioredis
from celery import Task

from services.worker import names
from services.worker.app import app, settings
from services.worker.jobs import CHANGED, FAILED, SKIPPED, BulkSpec, Job, Outcome, Summary
from services.worker.once import publish_if_advanced, publish_once
from services.worker.runner import run_with_redis
from services.worker.selection import select_skus
from shopvoice import log, replies, tracing
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1.mutation_pb2 import Actor, Confirmation, Mutation
from shopvoice.errors import REFUSALS
from shopvoice.gateway.v1.gateway_pb2 import Progress, Result, ResultStatus, ServerMessage
from shopvoice.grpc_server import channel
from shopvoice.money import from_decimal
from shopvoice.replies import REPLY_MAXLEN, ReplyPublisher

MAX_BATCH_RETRIES = 5

T = TypeVar("T")


class CatalogUnavailable(Exception):
    """The catalog did not answer (down, overloaded, deadline): the batch is retried later."""


def idempotency_key(job_id: str, sku: str) -> str:
    return f"bulk:{job_id}:{sku}"


def _run(step: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
    return run_with_redis(settings.redis_url, step)


def _job(redis: aioredis.Redis, job_id: str) -> Job:
    return Job(redis, settings.key("bulk"), job_id, settings.job_ttl_s)


# -- one SKU ------------------------------------------------------------------------------


def _mutation(job_id: str, spec: BulkSpec, sku: str, total: int = 0) -> Mutation:
    """The job's mutation for one SKU. It declares the job's size (the snapshot's, fixed) and who
    confirmed the job, for the catalog's guardrails (a bulk change over the merchant's threshold
    needs a confirmation)."""
    mutation = Mutation(
        merchant_id=spec.merchant_id,
        idempotency_key=idempotency_key(job_id, sku),
        actor=Actor(user_id=spec.user_id, role=spec.role, command_id=f"bulk:{job_id}"),
        bulk_size=total,
    )
    if spec.confirmed_by:
        mutation.confirmation.CopyFrom(Confirmation(user_id=spec.confirmed_by, command_id=f"bulk:{job_id}"))
    return mutation


def adjust_request(job_id: str, spec: BulkSpec, sku: str, total: int = 0) -> catalog_pb2.AdjustPriceRequest:
    """The same request, byte for byte, on every run: the catalog refuses a key reused with other arguments."""
    request = catalog_pb2.AdjustPriceRequest(mutation=_mutation(job_id, spec, sku, total), sku=sku)
    if spec.percent is not None:
        request.percent = spec.percent
    else:
        request.delta.CopyFrom(from_decimal(Decimal(spec.delta or "0")))
    return request


async def _change(
    stub: catalog_pb2_grpc.CatalogServiceAsyncStub, job_id: str, spec: BulkSpec, sku: str, total: int
) -> catalog_pb2.MutationResult:
    """One SKU's change of the job's kind (the same request on every run)."""
    options: Any = {"timeout": settings.rpc_timeout_s, "metadata": tuple(tracing.current_metadata())}
    mutation = _mutation(job_id, spec, sku, total)
    if spec.kind == "set_price":
        price = from_decimal(Decimal(spec.price or "0"))
        return await stub.SetPrice(catalog_pb2.SetPriceRequest(mutation=mutation, sku=sku, price=price), **options)
    if spec.kind == "set_stock":
        request = catalog_pb2.SetStockRequest(mutation=mutation, sku=sku, quantity=spec.quantity or 0)
        return await stub.SetStock(request, **options)
    if spec.kind == "adjust_stock":
        request_stock = catalog_pb2.AdjustStockRequest(mutation=mutation, sku=sku, delta=int(spec.delta or 0))
        return await stub.AdjustStock(request_stock, **options)
    return await stub.AdjustPrice(adjust_request(job_id, spec, sku, total), **options)


async def adjust_one(
    stub: catalog_pb2_grpc.CatalogServiceAsyncStub, job_id: str, spec: BulkSpec, sku: str, total: int = 0
) -> Outcome:
    """One SKU changed (its change id kept, for the job's undo), skipped or failed."""
    try:
        result = await _change(stub, job_id, spec, sku, total)
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:  # a refusal too, but one that means "skip it"
            return Outcome(SKIPPED, "no longer in the catalog")
        if exc.code() in REFUSALS:  # an answer for this SKU, not a reason to retry
            return Outcome(FAILED, exc.details() or exc.code().name)
        raise CatalogUnavailable(f"{exc.code().name}: {exc.details()}") from exc
    return Outcome(CHANGED, result.change_id)


# -- messages to the session --------------------------------------------------------------


def progress_message(job_id: str, done: int, total: int) -> ServerMessage:
    # The job's own id as utterance_id: the gateway drops messages of an utterance it
    # already answered, and the confirming utterance was answered when the job started.
    return ServerMessage(utterance_id=job_id, progress=Progress(job_id=job_id, done=done, total=total))


_WHAT = {
    "adjust_price": ("批量改价", "Bulk price change"),
    "set_price": ("批量改价", "Bulk price change"),
    "set_stock": ("批量改库存", "Bulk stock change"),
    "adjust_stock": ("批量改库存", "Bulk stock change"),
    "undo": ("批量撤销", "Bulk undo"),
}


def summary_text(summary: Summary, chinese: bool, kind: str = "adjust_price") -> str:
    zh, en = _WHAT.get(kind, _WHAT["adjust_price"])
    if chinese:
        text = f"{zh}完成：共{summary.total}个SKU，已改{summary.changed}个，跳过{summary.skipped}个，失败{summary.failed}个"
    else:
        text = (
            f"{en} done: {summary.total} SKUs, {summary.changed} changed,"
            f" {summary.skipped} skipped, {summary.failed} failed"
        )
    details = [f"{reason} ×{count} (e.g. {', '.join(examples)})" for reason, count, examples in summary.reasons]
    return text + ("; " + "; ".join(details) if details else "")


def summary_message(job_id: str, summary: Summary, chinese: bool, kind: str = "adjust_price") -> ServerMessage:
    nothing_done = summary.changed == 0 and summary.failed > 0
    status = ResultStatus.RESULT_STATUS_REJECTED if nothing_done else ResultStatus.RESULT_STATUS_OK
    text = summary_text(summary, chinese, kind)
    return ServerMessage(utterance_id=job_id, result=Result(status=status, message=text))


async def report_progress(redis: aioredis.Redis, job: Job, spec: BulkSpec) -> None:
    """A Progress to the session; when every SKU has an outcome, the summary, exactly once."""
    total = await job.total() or 0
    done = await job.done()
    if spec.reply_stream:
        await publish_if_advanced(
            redis,
            (job.meta_key, "progress-published"),
            done,
            spec.reply_stream,
            replies.entry(progress_message(job.job_id, done, total)),
            maxlen=REPLY_MAXLEN,
            stream_ttl_s=settings.reply_ttl_s,
        )
    if done < total:
        return
    summary = await job.summary()
    await job.store_summary(summary)
    if spec.reply_stream:
        sent = await publish_once(
            redis,
            job.summary_flag,
            spec.reply_stream,
            replies.entry(summary_message(job.job_id, summary, spec.chinese, spec.kind)),
            flag_ttl_s=settings.job_ttl_s,
            maxlen=REPLY_MAXLEN,
            stream_ttl_s=settings.reply_ttl_s,
        )
    else:
        sent = await job.mark("summary-sent")
    if sent:
        log.get().info(
            "bulk job finished", job_id=job.job_id, **{k: v for k, v in asdict(summary).items() if k != "reasons"}
        )


# -- the job ------------------------------------------------------------------------------


async def snapshot(redis: aioredis.Redis, job_id: str, spec: BulkSpec) -> tuple[int, bool]:
    """(total, batches already enqueued): select the SKUs, unless an earlier run of this job did."""
    job = _job(redis, job_id)
    total = await job.total()
    if total is None:
        async with channel(settings.catalog_addr) as catalog:
            stub = catalog_pb2_grpc.CatalogServiceStub(catalog)
            try:
                skus = (
                    sorted(set(spec.skus))
                    if spec.skus is not None
                    else await select_skus(stub, spec.merchant_id, spec.selector, settings.rpc_timeout_s)
                )
            except grpc.aio.AioRpcError as exc:
                raise CatalogUnavailable(f"{exc.code().name}: {exc.details()}") from exc
        total = await job.snapshot(spec, skus)
        if spec.reply_stream:
            await ReplyPublisher(redis, settings.reply_ttl_s).send(
                spec.reply_stream, progress_message(job_id, 0, total)
            )
    if total == 0:
        await report_progress(redis, job, await job.spec())
    return total, await job.has("batches-enqueued")


async def run_batch(redis: aioredis.Redis, job_id: str, index: int, give_up: bool) -> None:
    job = _job(redis, job_id)
    spec = await job.spec()
    todo = await job.pending(await job.batch(index, settings.bulk_batch_size))
    total = await job.total() or 0
    if todo:
        limit = asyncio.Semaphore(settings.bulk_concurrency)
        async with channel(settings.catalog_addr) as catalog:
            stub = catalog_pb2_grpc.CatalogServiceStub(catalog)

            async def one(sku: str) -> None:
                async with limit:
                    try:
                        outcome = await adjust_one(stub, job_id, spec, sku, total)
                    except CatalogUnavailable as exc:
                        if not give_up:
                            raise
                        outcome = Outcome(FAILED, f"catalog unavailable ({exc})")
                await job.record(sku, outcome)

            results = await asyncio.gather(*(one(sku) for sku in todo), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
    await report_progress(redis, job, spec)


@app.task(name=names.BULK_ADJUST_PRICE, bind=True, max_retries=MAX_BATCH_RETRIES)
def bulk_adjust_price(self: Task, job_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Start a confirmed bulk price change: snapshot its SKUs, enqueue its batches (once)."""
    bulk = BulkSpec(**spec)
    try:
        total, enqueued = _run(lambda redis: snapshot(redis, job_id, bulk))
    except CatalogUnavailable as exc:
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc
    batches = math.ceil(total / settings.bulk_batch_size)
    if not enqueued:
        # A crash between these sends and the flag enqueues some batches twice: harmless, see above.
        for index in range(batches):
            bulk_adjust_batch.apply_async((job_id, index))
        _run(lambda redis: _job(redis, job_id).mark("batches-enqueued"))
    return {"job_id": job_id, "total": total, "batches": batches}


@app.task(name=names.BULK_ADJUST_BATCH, bind=True, max_retries=MAX_BATCH_RETRIES)
def bulk_adjust_batch(self: Task, job_id: str, index: int) -> None:
    """Change the prices of one batch of the job's SKUs; retried with backoff while the catalog is away."""
    give_up = self.request.retries >= MAX_BATCH_RETRIES
    try:
        _run(lambda redis: run_batch(redis, job_id, index, give_up))
    except CatalogUnavailable as exc:
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc


# -- undo of a whole job ------------------------------------------------------------------


async def undo_job(
    redis: aioredis.Redis, undo_id: str, job_id: str, user_id: str, role: str, confirmed_by: str = ""
) -> Summary:
    """Revert every change a bulk job made, each SKU once (its own idempotency key), as one step."""
    job = _job(redis, job_id)
    spec = await job.spec()
    outcomes = await redis.hgetall(job.outcomes_key)
    changes = []
    for raw_sku, raw in sorted(outcomes.items()):
        outcome = Outcome.decode(raw)
        if outcome.kind == CHANGED and outcome.reason:
            changes.append((raw_sku.decode() if isinstance(raw_sku, bytes) else raw_sku, outcome.reason))
    summary = Summary(total=len(changes))
    limit = asyncio.Semaphore(settings.bulk_concurrency)
    failures: dict[str, list[str]] = {}
    async with channel(settings.catalog_addr) as catalog:
        stub = catalog_pb2_grpc.CatalogServiceStub(catalog)

        async def one(sku: str, change_id: str) -> None:
            request = catalog_pb2.UndoLastChangeRequest(
                mutation=Mutation(
                    merchant_id=spec.merchant_id,
                    idempotency_key=f"undo:{undo_id}:{sku}",
                    actor=Actor(user_id=user_id, role=role, command_id=f"undo:{job_id}"),
                    bulk_size=len(changes),
                ),
                change_id=change_id,
            )
            if confirmed_by:  # the merchant confirmed the undo (the catalog's guardrails ask it of a bulk change)
                request.mutation.confirmation.CopyFrom(Confirmation(user_id=confirmed_by, command_id=f"undo:{job_id}"))
            async with limit:
                try:
                    await stub.UndoLastChange(
                        request, timeout=settings.rpc_timeout_s, metadata=tuple(tracing.current_metadata())
                    )
                    summary.changed += 1
                except grpc.aio.AioRpcError as exc:
                    if exc.code() not in REFUSALS:
                        raise CatalogUnavailable(f"{exc.code().name}: {exc.details()}") from exc
                    summary.failed += 1
                    failures.setdefault(exc.details() or exc.code().name, []).append(sku)

        await asyncio.gather(*(one(sku, change_id) for sku, change_id in changes))
    summary.reasons = [(reason, len(skus), skus[:3]) for reason, skus in failures.items()]
    return summary


@app.task(name=names.BULK_UNDO, bind=True, max_retries=MAX_BATCH_RETRIES)
def bulk_undo(
    self: Task,
    undo_id: str,
    job_id: str,
    user_id: str,
    role: str,
    reply_stream: str,
    chinese: bool,
    confirmed_by: str = "",
) -> dict[str, Any]:
    """Undo a confirmed bulk change as one step; the summary goes to the session once."""
    try:
        summary = _run(lambda redis: undo_job(redis, undo_id, job_id, user_id, role, confirmed_by))
    except CatalogUnavailable as exc:
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc
    if reply_stream:

        async def send(redis: aioredis.Redis) -> bool:
            return await publish_once(
                redis,
                f"{settings.key('bulk')}:job:{undo_id}:summary-sent",
                reply_stream,
                replies.entry(summary_message(undo_id, summary, chinese, "undo")),
                flag_ttl_s=settings.job_ttl_s,
                maxlen=REPLY_MAXLEN,
                stream_ttl_s=settings.reply_ttl_s,
            )

        _run(send)
    return {"job_id": undo_id, "total": summary.total, "undone": summary.changed, "failed": summary.failed}
