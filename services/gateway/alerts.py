"""Alerts for the merchant: the worker's periodic jobs publish them to the alert stream
(`RedisKeys.alerts`, one stream for every shop); the gateway delivers them.

- Live: one reader per gateway process (`AlertFeed.run`) reads the stream with a blocking
  XREAD and hands each alert to every open session of its merchant, in the session's
  language. It starts at the stream's newest entry (as "$" would), so a session gets the
  alerts raised while it is open, never the backlog. After an error (Redis restarting,
  unreachable) it reads again from the last id it delivered: nothing raised meanwhile is
  lost, nothing is delivered twice.
- On request: `recent` reads the stream newest first (XREVRANGE) for one merchant
  (ListAlerts, `shopvoice alerts`).

A session's alerts wait on a bounded queue of its own; a session that does not keep up loses
its oldest alerts (logged), never holds up the reader or another session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shopvoice import log
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.redis_keys import RedisKeys

SESSION_QUEUE = 64  # alerts waiting for one session
DEFAULT_LIMIT, MAX_LIMIT = 20, 500
SCAN_PAGE = 1000  # entries per XREVRANGE when listing one merchant's alerts
RETRY_S = 0.5

# What each kind of alert says, per language. `{...}` are the alert's fields as the worker
# published them (services/worker/periodic.py), plus `name` (the product's title in the language).
TEMPLATES: dict[str, dict[str, str]] = {
    "zh": {
        "low_stock": "库存提醒：{name}（{sku}）只剩{available}件，低于{threshold}件。",
        "unshipped_order": "发货提醒：订单{order_id}已付款{hours_waiting}小时，还没有发货。",
        "other": "提醒：{subject}",
    },
    "en": {
        "low_stock": "Low stock: {name} ({sku}) has {available} left, below {threshold}.",
        "unshipped_order": "Not shipped: order {order_id} was paid {hours_waiting} hours ago and has not shipped yet.",
        "other": "Alert: {subject}",
    },
}
SUBJECT_FIELD = {"low_stock": "sku", "unshipped_order": "order_id"}


def language_of(tag: str) -> str:
    """The template language of a session's language tag ("zh-CN" → zh); anything else is English."""
    return "zh" if tag.lower().startswith("zh") else "en"


def _entry_time(entry_id: bytes) -> datetime:
    return datetime.fromtimestamp(int(entry_id.split(b"-", 1)[0]) / 1000, tz=UTC)


class _Blanks(dict[str, str]):
    def __missing__(self, key: str) -> str:  # a field an older job did not publish
        return "?"


def render(entry_id: bytes, fields: Mapping[bytes, bytes], language: str) -> gw.Alert:
    """The alert message of one stream entry, its text in `language` (a session's tag)."""
    values = {k.decode(): v.decode(errors="replace") for k, v in fields.items()}
    kind = values.get("kind", "")
    subject = values.get(SUBJECT_FIELD.get(kind, ""), "")
    lang = language_of(language)
    name = values.get("title_en") if lang == "en" and values.get("title_en") else values.get("title", "")
    details = {k: v for k, v in values.items() if k not in ("kind", "merchant_id", "period")}
    template = TEMPLATES[lang].get(kind, TEMPLATES[lang]["other"])
    alert = gw.Alert(
        alert_id=entry_id.decode(),
        kind=kind,
        subject=subject or kind,
        message=template.format_map(_Blanks(values, name=name or subject, subject=subject or kind)),
        details=details,
    )
    alert.created_at.FromDatetime(_entry_time(entry_id))
    return alert


@dataclass
class _Subscriber:
    language: str
    queue: asyncio.Queue[gw.Alert] = field(default_factory=lambda: asyncio.Queue(maxsize=SESSION_QUEUE))


class AlertFeed:
    """One process's reader of the alert stream, fanning each alert out to its merchant's sessions."""

    def __init__(self, redis: aioredis.Redis, prefix: str, block_ms: int = 1000, count: int = 256) -> None:
        self.redis = redis
        self.stream = RedisKeys(prefix).alerts
        self.block_ms = block_ms
        self.count = count
        self.last_id: bytes | None = None  # None until the stream's newest entry is known
        self._merchants: dict[str, dict[str, _Subscriber]] = {}

    def subscribe(self, merchant_id: str, session_id: str, language: str) -> asyncio.Queue[gw.Alert]:
        """A session's alerts from now on, rendered in its language."""
        subscriber = _Subscriber(language)
        self._merchants.setdefault(merchant_id, {})[session_id] = subscriber
        return subscriber.queue

    def unsubscribe(self, merchant_id: str, session_id: str) -> None:
        sessions = self._merchants.get(merchant_id, {})
        sessions.pop(session_id, None)
        if not sessions:
            self._merchants.pop(merchant_id, None)

    async def run(self) -> None:
        """Read and fan out for ever (a background job of the gateway process)."""
        while True:
            try:
                if self.last_id is None:
                    self.last_id = await self._newest()
                await self._read_once(self.last_id)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.get().warning("alert feed cannot reach Redis; resuming from its last id", error=type(exc).__name__)
                await asyncio.sleep(RETRY_S)
            except Exception:  # never let one bad entry stop the feed
                log.get().exception("alert feed read failed; continuing")
                await asyncio.sleep(RETRY_S)

    async def _newest(self) -> bytes:
        newest: Any = await self.redis.xrevrange(self.stream, count=1)
        return bytes(newest[0][0]) if newest else b"0-0"

    async def _read_once(self, after: bytes) -> None:
        response: Any = await self.redis.xread({self.stream: after}, count=self.count, block=self.block_ms)
        for _key, entries in response or []:
            for entry_id, fields in entries:
                self.last_id = entry_id
                self._deliver(entry_id, fields)

    def _deliver(self, entry_id: bytes, fields: Mapping[bytes, bytes]) -> None:
        merchant_id = fields.get(b"merchant_id", b"").decode()
        rendered: dict[str, gw.Alert] = {}  # once per language
        for session_id, subscriber in list(self._merchants.get(merchant_id, {}).items()):
            lang = language_of(subscriber.language)
            if lang not in rendered:
                rendered[lang] = render(entry_id, fields, subscriber.language)
            alert = rendered[lang]
            if subscriber.queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    dropped = subscriber.queue.get_nowait()
                    log.get().warning(
                        "session is not taking its alerts; dropped the oldest",
                        session_id=session_id,
                        alert_id=dropped.alert_id,
                    )
            subscriber.queue.put_nowait(alert)

    async def recent(self, merchant_id: str, limit: int, language: str, scan_max: int) -> list[gw.Alert]:
        """The merchant's newest `limit` alerts, newest first, looking at most `scan_max` entries back."""
        limit = min(limit or DEFAULT_LIMIT, MAX_LIMIT)
        found: list[gw.Alert] = []
        upper: bytes | str = "+"
        scanned = 0
        wanted = merchant_id.encode()
        while len(found) < limit and scanned < scan_max:
            page: Any = await self.redis.xrevrange(self.stream, max=upper, min="-", count=SCAN_PAGE)
            if not page:
                break
            scanned += len(page)
            for entry_id, fields in page:
                if fields.get(b"merchant_id") == wanted:
                    found.append(render(entry_id, fields, language))
                    if len(found) == limit:
                        break
            upper = b"(" + page[-1][0]  # exclusive: the next page starts below the last one read
        return found
