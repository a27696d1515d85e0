"""The audit log: who said what, when, what it was understood as, what ran, and the result;
for a change, who asked, who confirmed, the values before and after, and the guardrail rule
that asked for the confirmation (read back with `shopvoice audit`).

Where it lives, and why: a Postgres table in the gateway's own schema
("gateway", through shopvoice.db), not a Redis Stream. An audit log is a record
people rely on months later (disputes, "who refunded order 88?"): it must
survive a Redis restart (Redis runs without persistence in our stack), must not
be trimmed silently by MAXLEN, and is queried by merchant and time, which SQL
does with an index. The gateway is the one place that sees both the caller (the
verified token) and every outcome, including the ones the NLU never sees
(rate-limited turns, sessions that disconnect).

Writes stay off the hot path: a record is queued when its result is known and a
writer task inserts whatever has queued in the last 50 ms in one COPY (group commit), so
200 commands/s cost 20 small transactions a second, not 200 commits. On SIGTERM the
queue is flushed before the process exits; a SIGKILL loses at most the records
of the last batch in flight (milliseconds).

A record Postgres cannot take (a value it refuses) never blocks the others: when a
batch fails for its data, its records are written one by one and each one refused
goes to `audit_dead_letter` with the reason, as escaped JSON. When Postgres itself is
unreachable the batch is retried (with backoff) and kept, never dropped: a stop
during the wait still writes it in the final flush.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
from google.protobuf import json_format
from prometheus_client import Counter
from psycopg.types.json import Jsonb
from psycopg_pool import PoolTimeout

from shopvoice import db, log
from shopvoice.common.v1.command_pb2 import Command, StageTiming
from shopvoice.common.v1.mutation_pb2 import ChangeRecord

AUDIT_WRITTEN = Counter("sv_gateway_audit_records_total", "Audit records", ["outcome"])
MAX_QUEUE = 100_000
MAX_BATCH = 1000
# How long the writer lets records gather before a batch: at 200 commands/s this turns
# 200 transactions a second into 20, and no caller ever waits for it.
LINGER_S = 0.05

RETRY_MAX_S = 5.0
# Postgres is not there (down, restarting, pool exhausted): retry the batch; anything else is about the data.
_UNREACHABLE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)
# At shutdown, how long the last flush tries an unreachable Postgres again before the records go to
# the log only. One try was not enough for a Postgres that had just come back: the pool reconnects
# with a backoff, and its first connection came after the flush had given up (seen once in 3 CI runs).
FLUSH_RETRY_S = 5.0
_DEAD_LETTER = "INSERT INTO audit_dead_letter (merchant_id, utterance_id, reason, record) VALUES (%s, %s, %s, %s)"
_COPY = (
    "COPY audit_log (merchant_id, user_id, role, session_id, utterance_id, heard_at, heard,"
    " understood, ran, status, grpc_code, message, timings, delivered, requested_by, confirmed_by, rule, subject,"
    " field, before_value, after_value, change_id, requested_in) FROM STDIN"
)


def command_json(command: Command) -> dict[str, object]:
    intent = command.WhichOneof("intent") or "unknown"
    slots = json_format.MessageToDict(getattr(command, intent), preserving_proto_field_name=True)
    return {"intent": intent, "slots": slots}


@dataclass
class AuditRecord:
    merchant_id: str
    user_id: str
    role: str
    session_id: str
    utterance_id: str
    heard_at: datetime
    heard: str
    status: str
    understood: Command | None = None
    grpc_code: str = ""
    message: str = ""
    timings: list[StageTiming] = field(default_factory=list)
    delivered: bool = True
    change: ChangeRecord | None = None  # what the command changed, as the owning service recorded it
    rule: str = ""  # the guardrail rules that asked this turn for a confirmation

    @property
    def ran(self) -> bool:
        return any(t.stage == "dispatched" for t in self.timings)

    def row(self) -> tuple[object, ...]:
        return (
            self.merchant_id,
            self.user_id,
            self.role,
            self.session_id,
            self.utterance_id,
            self.heard_at,
            self.heard,
            Jsonb(command_json(self.understood)) if self.understood is not None else None,
            self.ran,
            self.status,
            self.grpc_code,
            self.message,
            Jsonb({t.stage: t.at_unix_nanos for t in self.timings}, dumps=json.dumps),
            self.delivered,
            *self.change_columns(),
        )

    def change_columns(self) -> tuple[str, ...]:
        """requested_by, confirmed_by, rule, subject, field, before, after, change_id, requested_in."""
        c = self.change
        if c is None:  # nothing changed; a turn a guardrail asked about names its rule
            return (self.user_id if self.rule else "", "", self.rule, "", "", "", "", "", "")
        return (
            c.requested_by,
            c.confirmed_by,
            c.rule,
            c.subject,
            c.field,
            c.before,
            c.after,
            c.change_id,
            c.command_id,
        )


def escaped(record: AuditRecord) -> str:
    """The record as ASCII-only JSON: NUL, surrogates and controls become escapes any text column takes."""
    fields = {
        "merchant_id": record.merchant_id,
        "user_id": record.user_id,
        "role": record.role,
        "session_id": record.session_id,
        "utterance_id": record.utterance_id,
        "heard_at": record.heard_at.isoformat(),
        "heard": record.heard,
        "understood": command_json(record.understood) if record.understood is not None else None,
        "status": record.status,
        "grpc_code": record.grpc_code,
        "message": record.message,
        "timings": {t.stage: t.at_unix_nanos for t in record.timings},
        "delivered": record.delivered,
    }
    return json.dumps(fields, ensure_ascii=True, default=str)


def _ascii(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii")


def now() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool
        self.queue: asyncio.Queue[AuditRecord] = asyncio.Queue(MAX_QUEUE)
        self.pending: list[AuditRecord] = []  # the batch being written (or waiting to be retried)

    def record(self, record: AuditRecord) -> None:
        """Queue a record; never blocks the caller's stream."""
        try:
            self.queue.put_nowait(record)
        except asyncio.QueueFull:
            AUDIT_WRITTEN.labels("dropped").inc()
            log.get().error(
                "audit queue full: Postgres is not keeping up; record dropped", utterance_id=record.utterance_id
            )

    async def run(self) -> None:
        """Write batches forever. A batch Postgres cannot take for its data is written record
        by record (the refused ones to the dead-letter table); one it cannot take because it
        is unreachable stays in `pending` and is retried, also by the final flush."""
        retry_s = 0.5
        while True:
            if not self.pending:
                self.pending.append(await self.queue.get())
                await asyncio.sleep(LINGER_S)
            while len(self.pending) < MAX_BATCH and not self.queue.empty():
                self.pending.append(self.queue.get_nowait())
            try:
                await self._write_or_dead_letter(self.pending)
            except _UNREACHABLE:
                log.get().exception("audit write failed: Postgres unreachable; retrying", records=len(self.pending))
                await asyncio.sleep(retry_s)  # a stop here leaves `pending` to the final flush
                retry_s = min(retry_s * 2, RETRY_MAX_S)
                continue
            self.pending = []
            retry_s = 0.5

    async def flush(self, retry_for_s: float = FLUSH_RETRY_S) -> None:
        """Everything pending and queued, now (at shutdown); while Postgres is unreachable it is tried
        again for retry_for_s, then what cannot be written is logged, record by record."""
        batch, self.pending = self.pending, []
        while not self.queue.empty():
            batch.append(self.queue.get_nowait())
        if not batch:
            return
        deadline, delay = time.monotonic() + retry_for_s, 0.2
        try:
            while True:
                try:
                    await self._write_or_dead_letter(batch)
                    return
                except _UNREACHABLE:
                    if time.monotonic() + delay > deadline:
                        raise
                    log.get().warning("audit flush: Postgres unreachable; retrying", records=len(batch))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
        except Exception:
            AUDIT_WRITTEN.labels("lost").inc(len(batch))
            log.get().exception(
                "audit flush failed at shutdown: these records are in this log only", records=len(batch)
            )
            for record in batch:
                log.get().error("audit record not written", record=escaped(record))

    async def _write_or_dead_letter(self, batch: list[AuditRecord]) -> None:
        try:
            await self._write(batch)
            return
        except _UNREACHABLE:
            raise
        except Exception as exc:  # a value Postgres (or the COPY encoder) refused: find which
            log.get().warning(
                "audit batch refused; writing its records one by one", records=len(batch), error=str(exc)[:200]
            )
        for record in batch:
            try:
                await self._write([record])
            except _UNREACHABLE:
                raise
            except Exception as exc:
                await self._dead_letter(record, exc)

    async def _dead_letter(self, record: AuditRecord, error: Exception) -> None:
        reason = _ascii(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")[:500]
        async with self.pool.connection() as conn:
            await conn.execute(
                _DEAD_LETTER, (_ascii(record.merchant_id), _ascii(record.utterance_id), reason, escaped(record))
            )
            await conn.commit()
        AUDIT_WRITTEN.labels("dead_letter").inc()
        log.get().error(
            "audit record refused by Postgres; kept in audit_dead_letter",
            utterance_id=_ascii(record.utterance_id),
            reason=reason,
        )

    async def _write(self, batch: list[AuditRecord]) -> None:
        async with self.pool.connection() as conn, conn.cursor() as cur, cur.copy(_COPY) as copy:
            for record in batch:
                await copy.write_row(record.row())
        AUDIT_WRITTEN.labels("written").inc(len(batch))
