"""Fault injection: the whole stack on loopback, commands from several merchants
through the public gateway, while a driver SIGKILLs services, terminates Postgres
backends and restarts Redis, and a hostile local caller calls the catalog directly
without identity, with a forged or expired token or as a service that may not (each
must be refused, nothing changed), sends poison frames (NUL, controls, invalid UTF-8:
INVALID_ARGUMENT, the session goes on) and floods one user's sessions (RESOURCE_EXHAUSTED
beyond MAX_SESSIONS_PER_USER). Then a ledger check against the database and streams.

    python bench/fault_injection.py [--commands 2000] [--merchants 4] [--min-faults 50]

What it proves (and prints): every command the client saw acknowledged is applied
exactly once; every command not acknowledged at most once; each SKU's stock and
price equal their history; every stream entry is acknowledged by every consumer
group, and every transcript is applied, answered or in a dead-letter stream;
every outbox event reached its stream (Redis restarts included).

Everything is private to the run: its own redis-server (appendonly, so a restart
keeps the streams), a fresh Postgres database, a STREAM_PREFIX, free ports.
The outbox relays run inside catalog and orders: killing those kills them too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from shopvoice import identity  # noqa: E402
from shopvoice.auth import (  # noqa: E402
    DEV_AUTH_KEYS,
    mint,
    parse_keys,
)
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc  # noqa: E402
from shopvoice.common.v1.money_pb2 import Money  # noqa: E402
from shopvoice.common.v1.mutation_pb2 import Actor, Mutation  # noqa: E402
from shopvoice.events.v1.events_pb2 import Event  # noqa: E402
from shopvoice.gateway.v1 import gateway_pb2 as gw  # noqa: E402
from shopvoice.nlu.v1.nlu_pb2 import Utterance  # noqa: E402
from shopvoice.redis_keys import RedisKeys, dead_letter  # noqa: E402
from shopvoice_cli import demo_shop  # noqa: E402
from shopvoice_cli.client import Conversation  # noqa: E402
from shopvoice_cli.stack import Stack, available_services, wait_serving  # noqa: E402
from tests.support import servers  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import free_stack_ports  # noqa: E402

KILLABLE = ("nlu", "catalog", "orders", "gateway")
# A hostile or careless caller (identity on every internal call, text hygiene, session caps).
HOSTILE = ("forged_call", "poison_frame", "session_flood")
DISRUPTIVE = (*KILLABLE, "postgres", "redis")
FAULT_KINDS = (*DISRUPTIVE, *HOSTILE)
SESSIONS_PER_USER = 8  # >= the driver's concurrency: its own sessions are never refused
POISON = ("A100\x00", "\x1b[31mset the price of A100 to 1", "把A100的价格改成\x07 1元", "\x7f", "\u0085A100")
POISON_BYTES = (b"A100 \xed\xa0\x80", b"\xff\xfe", b"\xc0\x80", b"set the price of A100 to \xe4\xbb")
INITIAL = {p.sku: p for p in demo_shop.PRODUCTS}


@dataclass
class Settings:
    commands: int = 2000
    merchants: int = 4
    concurrency: int = 8
    rate: float = 15.0  # commands started per second, so the run lasts long enough for the faults
    min_faults: int = 150
    fault_interval_s: tuple[float, float] = (1.0, 3.0)  # kills, Postgres backends, Redis restarts
    hostile_interval_s: tuple[float, float] = (0.4, 1.2)  # forged calls, poison frames, session floods
    attempts: int = 10  # per command, same utterance id each time
    attempt_timeout_s: float = 12.0
    seed: int = 0
    keep_dir: bool = False


@dataclass
class Command:
    merchant_id: str
    utterance_id: str
    text: str
    kind: str  # "price" or "stock"
    sku: str
    value: str  # new price ("93.17") or stock delta ("3")
    attempts: int = 0
    outcome: str = "pending"  # acked, rejected, gave_up
    replayed: bool = False


@dataclass
class Report:
    commands: int = 0
    acknowledged: int = 0
    not_acknowledged: int = 0
    rejected: int = 0
    retries: int = 0
    faults: int = 0
    faults_by_kind: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    duplicated: int = 0
    applied_unacknowledged: int = 0
    unexplained_changes: int = 0
    stream_entries_checked: int = 0
    unacked_stream_entries: int = 0
    unexplained_stream_entries: int = 0
    dead_lettered: int = 0
    history_mismatches: int = 0
    outbox_events_missing: int = 0
    duration_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def figures(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.faults_by_kind.items()))
        return "\n".join(
            [
                f"commands            {self.commands} ({self.acknowledged} acknowledged, "
                f"{self.not_acknowledged} not, {self.rejected} rejected; {self.retries} retries)",
                f"faults injected     {self.faults} ({kinds})",
                f"lost                {self.lost}",
                f"duplicated          {self.duplicated}",
                f"applied, not acked  {self.applied_unacknowledged}",
                f"stream entries      {self.stream_entries_checked} checked, {self.unacked_stream_entries} unacked,"
                f" {self.unexplained_stream_entries} unexplained, {self.dead_lettered} dead-lettered",
                f"history mismatches  {self.history_mismatches}; outbox events missing {self.outbox_events_missing}",
                f"duration            {self.duration_s:.0f} s",
                "result              " + ("PASS" if self.ok else "FAIL: " + "; ".join(self.problems[:10])),
            ]
        )


# -- private servers ---------------------------------------------------------------------


class PrivateRedis:
    """redis-server of this run alone, appendonly with fsync on every write, restartable."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # below the ephemeral range (free_port): Redis is restarted on this port, and an outgoing
        # connection could take an ephemeral one while it is down
        self.port = free_port()
        self.popen: subprocess.Popen[bytes] | None = None
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH (apt-get install redis-server)")
        self.binary = binary

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.directory / "redis.log").open("ab")
        self.popen = subprocess.Popen(
            [
                *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)),
                *("--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with redis.Redis(port=self.port, socket_timeout=1) as client:
                    if client.ping():
                        return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"private redis-server on {self.port} did not answer; see {self.directory}/redis.log")

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def terminate_backends(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


# -- the stack, supervised, and the fault driver --------------------------------------------


class Chaos:
    """Restarts whatever dies (the supervisor) and kills things at random (the driver)."""

    def __init__(self, stack: Stack, redis_server: PrivateRedis, rng: random.Random, settings: Settings) -> None:
        self.stack = stack
        self.redis = redis_server
        self.rng = rng
        self.settings = settings
        self.lock = threading.Lock()
        self.stop_faults = threading.Event()
        self.stop_all = threading.Event()
        self.faults: Counter[str] = Counter()
        self.restarts: Counter[str] = Counter()
        self.problems: list[str] = []  # a hostile call that was not refused as it must be
        self.merchants: list[str] = []
        self.threads = [
            threading.Thread(target=self._supervise, name="supervisor", daemon=True),
            threading.Thread(target=self._inject, name="faults", daemon=True),
            threading.Thread(target=self._hostile, name="hostile", daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stop_faults.set()
        self.stop_all.set()
        for thread in self.threads:
            thread.join(30)

    def _supervise(self) -> None:
        while not self.stop_all.is_set():
            with self.lock:
                if not self.redis.alive():
                    self.redis.start()
                    self.restarts["redis"] += 1
                for name, process in self.stack.processes.items():
                    if not process.alive():
                        process.start()
                        self.restarts[name] += 1
            time.sleep(0.1)

    def _hostile(self) -> None:
        """The hostile caller, on its own clock: these faults disturb no process, so they come more
        often than the kills without making the command path any harder than before."""
        rng = random.Random(self.rng.random())
        low, high = self.settings.hostile_interval_s
        while not self.stop_faults.wait(rng.uniform(low, high)):
            kind = rng.choice(HOSTILE)
            try:
                done = {"forged_call": self._forged_call, "poison_frame": self._poison_frame}.get(
                    kind, self._session_flood
                )(rng)
            except Exception as exc:  # the driver itself failed: say so, never count it
                self.problems.append(f"{kind}: the fault driver failed: {type(exc).__name__}: {exc}")
                continue
            if done:
                with self.lock:
                    self.faults[kind] += 1

    def _inject(self) -> None:
        low, high = self.settings.fault_interval_s
        while not self.stop_faults.wait(self.rng.uniform(low, high)):
            kind = self.rng.choice(DISRUPTIVE)
            with self.lock:
                if kind in KILLABLE:
                    process = self.stack.processes.get(kind)
                    if process is None or not process.alive() or process.popen is None:
                        continue
                    process.popen.send_signal(signal.SIGKILL)
                    process.popen.wait(10)
                elif kind == "redis":
                    if not self.redis.alive():
                        continue
                    self.redis.kill()
                else:
                    try:
                        terminate_backends(self.stack.database_url)
                    except psycopg.Error:
                        continue
            self.faults[kind] += 1

    # -- hostile callers: each returns whether the fault was made (False: its target was down) --

    def _forged_call(self, rng: random.Random) -> bool:
        """SetPrice straight to the catalog, to a price no command sets (1.23): without identity,
        forged, expired, as the ASR, as a viewer, for another merchant. Every one refused; the ledger
        check then finds any change no command made."""
        keys = self.stack.internal_keys
        merchant = rng.choice(self.merchants)
        other = rng.choice([m for m in self.merchants if m != merchant] or [merchant + "-x"])
        attacker = identity.Identity(identity.parse_keys(identity.keys_for(["nlu"], "k1")["nlu"]))
        nlu = identity.Identity(identity.parse_keys(keys["nlu"]))
        asr = identity.Identity(identity.parse_keys(keys["asr"]))
        owner = identity.Claims("nlu", merchant, "owner-1", "owner")
        case, token, expected = rng.choice(
            [
                ("no identity", None, "UNAUTHENTICATED"),
                ("forged", attacker.mint(owner), "UNAUTHENTICATED"),
                ("expired", nlu.mint(owner, ttl_s=30, now=time.time() - 600), "UNAUTHENTICATED"),
                ("as the asr", asr.mint(owner), "PERMISSION_DENIED"),
                ("as a viewer", nlu.mint(identity.Claims("nlu", merchant, "v-1", "viewer")), "PERMISSION_DENIED"),
                ("another merchant", nlu.mint(identity.Claims("nlu", other, "owner-1", "owner")), "PERMISSION_DENIED"),
            ]
        )
        request = catalog_pb2.SetPriceRequest(
            mutation=Mutation(
                merchant_id=merchant,
                idempotency_key=f"forged-{uuid.uuid4().hex}",
                actor=Actor(user_id="x", role="owner"),
            ),
            sku=rng.choice(demo_shop.PRODUCTS).sku,
            price=Money(units=1, nanos=230_000_000, currency_code="CNY"),
        )
        metadata: Any = ((identity.METADATA_KEY, token),) if token else ()
        with grpc.insecure_channel(f"127.0.0.1:{self.stack.ports['catalog']}") as channel:
            try:
                catalog_pb2_grpc.CatalogServiceStub(channel).SetPrice(request, metadata=metadata, timeout=3)
                code = "OK"
            except grpc.RpcError as exc:
                failed: Any = exc
                code = failed.code().name
        if code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
            return False  # the catalog was down (a kill): no call was made
        if code != expected:
            self.problems.append(f"forged_call {case}: {code}, expected {expected}")
        return True

    def _poison_frame(self, rng: random.Random) -> bool:
        """A text turn the gateway must refuse (INVALID_ARGUMENT in the stream), then EndSession."""
        merchant = rng.choice(self.merchants)
        if rng.random() < 0.5:
            frame = gw.ClientMessage(text=gw.TextInput(text=rng.choice(POISON))).SerializeToString()
        else:
            raw = rng.choice(POISON_BYTES)  # ClientMessage.text (4) = TextInput.text (1), invalid UTF-8
            inner = b"\x0a" + bytes([len(raw)]) + raw
            frame = b"\x22" + bytes([len(inner)]) + inner
        frames = [
            gw.ClientMessage(start=gw.SessionStart(language="en")).SerializeToString(),
            frame,
            gw.ClientMessage(end=gw.EndSession()).SerializeToString(),
        ]
        token = mint(parse_keys(DEV_AUTH_KEYS), merchant, "poisoner", "owner", ttl_s=600)
        with grpc.insecure_channel(self.stack.gateway) as channel:
            converse = channel.stream_stream(
                "/shopvoice.gateway.v1.Assistant/Converse",
                request_serializer=lambda raw: raw,
                response_deserializer=gw.ServerMessage.FromString,
            )
            try:
                replies = list(converse(iter(frames), metadata=(("authorization", f"Bearer {token}"),), timeout=10))
            except grpc.RpcError as exc:
                ended: Any = exc
                if ended.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    return False
                self.problems.append(f"poison_frame: the stream ended {ended.code().name}: {ended.details()}")
                return True
        codes = [r.error.code for r in replies if r.WhichOneof("kind") == "error"]
        if codes != ["INVALID_ARGUMENT"]:
            self.problems.append(f"poison_frame: errors {codes}, expected one INVALID_ARGUMENT")
        return True

    def _session_flood(self, rng: random.Random) -> bool:
        """One user opens SESSIONS_PER_USER + 2 sessions at once: the extra ones are refused
        RESOURCE_EXHAUSTED with a retry hint, the others start; all are closed after."""
        merchant = rng.choice(self.merchants)
        token = mint(parse_keys(DEV_AUTH_KEYS), merchant, f"flooder-{uuid.uuid4().hex[:6]}", "viewer", ttl_s=600)
        opened: list[Any] = []
        outcomes: list[str] = []
        with grpc.insecure_channel(self.stack.gateway) as channel:
            converse = channel.stream_stream(
                "/shopvoice.gateway.v1.Assistant/Converse",
                request_serializer=gw.ClientMessage.SerializeToString,
                response_deserializer=gw.ServerMessage.FromString,
            )
            hold = threading.Event()

            def requests() -> Iterator[gw.ClientMessage]:
                yield gw.ClientMessage(start=gw.SessionStart(language="en"))
                hold.wait(30)
                yield gw.ClientMessage(end=gw.EndSession())

            try:
                for _ in range(SESSIONS_PER_USER + 2):
                    call: Any = converse(requests(), metadata=(("authorization", f"Bearer {token}"),), timeout=20)
                    try:
                        first = next(call)
                        outcomes.append(first.WhichOneof("kind") or "?")
                        opened.append(call)
                    except grpc.RpcError as exc:
                        refusal: Any = exc
                        code = refusal.code()
                        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                            return False
                        hinted = any(k == "retry-after-ms" for k, _ in refusal.trailing_metadata() or ())
                        outcomes.append(code.name + ("" if hinted else " without a retry hint"))
            finally:
                hold.set()
                for call in opened:
                    with contextlib.suppress(grpc.RpcError):
                        for _ in call:
                            pass
        refused = outcomes.count("RESOURCE_EXHAUSTED")
        started = outcomes.count("started")
        if refused < 2 or started + refused != len(outcomes):
            self.problems.append(f"session_flood: {Counter(outcomes)}; expected at least 2 RESOURCE_EXHAUSTED")
        return True

    def wait_all_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for process in self.stack.processes.values():
            if not wait_serving(process.address, max(1.0, deadline - time.monotonic())):
                raise RuntimeError(f"{process.name} is not SERVING after the faults stopped; see {process.log_path}")


# -- the client ------------------------------------------------------------------------------


def make_commands(settings: Settings, merchants: list[str], rng: random.Random) -> list[Command]:
    commands = []
    for i in range(settings.commands):
        merchant = merchants[i % len(merchants)]
        product = rng.choice(demo_shop.PRODUCTS)
        uid = f"fi-{uuid.uuid4().hex}"
        chinese = rng.random() < 0.5
        if rng.random() < 0.5:
            # Within ±20% of the demo price, with cents, so no confirmation is asked.
            price = Decimal(product.price) * Decimal(rng.randint(80, 120)) / 100 + Decimal(rng.randint(0, 99)) / 100
            price = price.quantize(Decimal("0.01"))
            text = f"把{product.sku}的价格改成{price}元" if chinese else f"set the price of {product.sku} to {price}"
            commands.append(Command(merchant, uid, text, "price", product.sku, f"{price}"))
        else:
            delta = rng.randint(1, 9)
            text = f"{product.sku}补货{delta}件" if chinese else f"add {delta} units of {product.sku}"
            commands.append(Command(merchant, uid, text, "stock", product.sku, str(delta)))
    return commands


# What send_once answers when the turn ended in a question (a confirmation or a clarification).
asked = gw.Result()


def widen_price_guardrail(catalog: str, merchant: str) -> None:
    """The price window's guardrail at its widest for the run's merchants: the driver's prices wander
    within +-20% of the demo price, and the window counts from the lowest (or highest) price of
    the last 24 h, so about half of them would ask for a confirmation that no driver gives. The
    run measures delivery under faults; tests/e2e/test_guardrails.py covers the guardrail."""
    with identity.sync_channel(catalog) as channel:
        catalog_pb2_grpc.CatalogServiceStub(channel).SetGuardrailPolicy(
            catalog_pb2.SetGuardrailPolicyRequest(
                mutation=Mutation(
                    merchant_id=merchant,
                    idempotency_key=f"fi-guardrail:{merchant}",
                    actor=Actor(user_id="owner-1", role="owner"),
                ),
                price_change_percent="1000",
            ),
            timeout=10,
        )


async def send_once(gateway: str, token: str, command: Command, timeout_s: float) -> gw.Result | None:
    conversation = Conversation(gateway, token, timeout_s=timeout_s)
    try:
        await conversation.__aenter__()
        turn = await conversation.say(command.text, utterance_id=command.utterance_id)
        final = turn.final
        if final is not None and final.WhichOneof("kind") in ("confirmation", "clarification"):
            return asked
        return turn.result
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conversation.__aexit__(None, None, None), 5)


async def drive(gateway: str, commands: list[Command], settings: Settings) -> None:
    keys = parse_keys(DEV_AUTH_KEYS)
    tokens = {m: mint(keys, m, "owner-1", "owner", ttl_s=7200) for m in {c.merchant_id for c in commands}}
    queue: asyncio.Queue[tuple[int, Command]] = asyncio.Queue()
    for index, command in enumerate(commands):
        queue.put_nowait((index, command))
    loop = asyncio.get_running_loop()
    began = loop.time()

    async def worker() -> None:
        while not queue.empty():
            index, command = queue.get_nowait()
            await asyncio.sleep(max(0.0, began + index / settings.rate - loop.time()))
            for attempt in range(1, settings.attempts + 1):
                command.attempts = attempt
                try:
                    result = await asyncio.wait_for(
                        send_once(gateway, tokens[command.merchant_id], command, settings.attempt_timeout_s),
                        settings.attempt_timeout_s + 10,
                    )
                except Exception:
                    result = None
                if result is not None and result.status == gw.RESULT_STATUS_OK:
                    command.outcome = "acked"
                    command.replayed = "already done" in result.message
                    break
                if result is not None and result.status == gw.RESULT_STATUS_REJECTED:
                    command.outcome = "rejected"
                    break
                if result is asked:
                    # A question is an answer: sent again, the same utterance gets the same question.
                    command.outcome = "asked"
                    break
                await asyncio.sleep(min(0.3 * attempt, 2.0))
            else:
                command.outcome = "gave_up"

    await asyncio.gather(*(worker() for _ in range(settings.concurrency)))


# -- the ledger check ------------------------------------------------------------------------


# Quiet must hold this many polls in a row (0.5 s apart). The streams and the outboxes are read one
# after the other, not at one instant: an outbox row published between the two reads is in neither
# (the streams were read before its entry, the outbox after it was marked), and one quiet poll once
# let the ledger check find that entry unread ("events:catalog group orders: 1 not acknowledged").
QUIET_POLLS = 3


def wait_quiet(redis_url: str, prefix: str, database_url: str, timeout: float = 120) -> None:
    """Until every group has read and acknowledged everything and every outbox row is published."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        busy = 0
        try:
            with redis.Redis.from_url(redis_url) as client:
                for key in client.scan_iter(f"{prefix}:*", _type="stream"):
                    for group in client.xinfo_groups(key):
                        busy += int(group["pending"]) + int(group.get("lag") or 0)
            with psycopg.connect(database_url) as conn:
                for schema in ("catalog", "orders"):
                    row = conn.execute(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL").fetchone()
                    busy += int(row[0]) if row else 0
        except (redis.RedisError, psycopg.Error):
            busy = 1
        quiet = 0 if busy else quiet + 1
        if quiet == QUIET_POLLS:
            return
        time.sleep(0.5)


def check_ledger(
    commands: list[Command], database_url: str, redis_url: str, prefix: str, merchants: list[str], report: Report
) -> None:
    by_uid = {c.utterance_id: c for c in commands}
    with psycopg.connect(database_url) as conn:
        changes = conn.execute(
            "SELECT merchant_id, sku, kind, old_value, new_value, command_id FROM catalog.changes ORDER BY seq"
        ).fetchall()
        variants = {
            (m, s): (int(on_hand), Decimal(price))
            for m, s, on_hand, price in conn.execute(
                "SELECT merchant_id, sku, on_hand, price FROM catalog.variants"
            ).fetchall()
        }
        outbox = conn.execute("SELECT event_id, published_at IS NOT NULL FROM catalog.outbox").fetchall()

    applied: Counter[str] = Counter(row[5] for row in changes)
    for command in commands:
        times = applied.get(command.utterance_id, 0)
        if command.outcome == "acked" and times == 0:
            report.lost += 1
            report.problems.append(f"lost: {command.utterance_id} {command.text!r} acknowledged, never applied")
        if times > 1:
            report.duplicated += 1
            report.problems.append(f"duplicated: {command.utterance_id} {command.text!r} applied {times} times")
        if command.outcome in ("rejected", "asked") and times:
            report.problems.append(f"{command.outcome} yet applied: {command.utterance_id} {command.text!r}")
        if command.outcome != "acked" and times == 1:
            report.applied_unacknowledged += 1
    unexplained = [row for row in changes if row[5] not in by_uid]
    report.unexplained_changes = len(unexplained)
    if unexplained:
        report.problems.append(f"{len(unexplained)} changes no command of ours made, e.g. {unexplained[0]}")

    # Stock and price equal their history; each change did what its command said.
    for merchant in merchants:
        for sku, product in INITIAL.items():
            stock, price = product.quantity, Decimal(product.price)
            for m, s, kind, old, new, uid in changes:
                if (m, s) != (merchant, sku):
                    continue
                changed_by = by_uid.get(uid)
                if kind == "stock":
                    if int(old) != stock or (changed_by and int(new) - int(old) != int(changed_by.value)):
                        report.history_mismatches += 1
                    stock = int(new)
                elif kind == "price":
                    if Decimal(old) != price or (changed_by and Decimal(new) != Decimal(changed_by.value)):
                        report.history_mismatches += 1
                    price = Decimal(new)
            expected_stock = product.quantity + sum(
                int(c.value)
                for c in commands
                if (c.merchant_id, c.sku, c.kind) == (merchant, sku, "stock")
                for _ in range(applied.get(c.utterance_id, 0))
            )
            if variants.get((merchant, sku)) != (stock, price) or stock != expected_stock:
                report.history_mismatches += 1
                report.problems.append(
                    f"{merchant}/{sku}: row {variants.get((merchant, sku))}, history ({stock}, {price}),"
                    f" commands' stock {expected_stock}"
                )
    if report.history_mismatches and not any("history" in p for p in report.problems):
        report.problems.append(f"{report.history_mismatches} changes disagree with the change before them")

    with redis.Redis.from_url(redis_url) as client:
        # Every consumer group of every stream has read and acknowledged everything.
        for key in client.scan_iter(f"{prefix}:*", _type="stream"):
            for group in client.xinfo_groups(key):
                left = int(group["pending"]) + int(group.get("lag") or 0)
                if left:
                    report.unacked_stream_entries += left
                    report.problems.append(f"{key.decode()} group {group['name'].decode()}: {left} not acknowledged")
        # Every transcript: applied, answered (rejected) or in the dead-letter stream.
        keys = RedisKeys(prefix)
        transcripts = keys.transcripts
        dead = {
            Utterance.FromString(fields[b"utterance"]).utterance_id
            for _id, fields in client.xrange(dead_letter(transcripts))
        }
        for key in client.scan_iter(dead_letter(f"{prefix}:*"), _type="stream"):
            report.dead_lettered += int(client.xlen(key))
        for _id, fields in client.xrange(transcripts):
            report.stream_entries_checked += 1
            uid = Utterance.FromString(fields[b"utterance"]).utterance_id
            sent = by_uid.get(uid)
            explained = applied.get(uid) or uid in dead or (sent is not None and sent.outcome == "rejected")
            if not explained:
                report.unexplained_stream_entries += 1
                report.problems.append(f"transcript {uid} neither applied, answered nor dead-lettered")
        # Every outbox event reached its stream, across Redis restarts.
        published = set()
        for _id, fields in client.xrange(keys.catalog_events):
            report.stream_entries_checked += 1
            published.add(Event.FromString(fields[b"event"]).event_id)
    for event_id, marked in outbox:
        if not marked or str(event_id) not in published:
            report.outbox_events_missing += 1
    if report.outbox_events_missing:
        report.problems.append(f"{report.outbox_events_missing} outbox events never reached events:catalog")


# -- the run ---------------------------------------------------------------------------------


@contextmanager
def run_directory(keep: Callable[[], bool]) -> Iterator[Path]:
    """A directory for the run's logs, removed at the end unless the run raised or `keep()` says so
    (asked at the end: whether the report failed is known only then)."""
    directory = Path(tempfile.mkdtemp(prefix="sv-faults-"))
    ok = False
    try:
        yield directory
        ok = True
    finally:
        if ok and not keep():
            shutil.rmtree(directory, ignore_errors=True)
        else:
            print(f"logs kept in {directory}", flush=True)


def run(settings: Settings) -> Report:
    rng = random.Random(settings.seed or None)
    report = Report()
    started = time.monotonic()
    with (
        run_directory(lambda: settings.keep_dir or not report.ok) as directory,
        servers.postgres_admin_url() as admin_url,
        servers.fresh_database(admin_url) as database_url,
    ):
        private_redis = PrivateRedis(directory)
        private_redis.start()
        prefix = f"svf{uuid.uuid4().hex[:8]}"
        stack = Stack(
            database_url=database_url,
            redis_url=private_redis.url,
            run_dir=directory,
            ports=free_stack_ports(),
            # The faults are in the command path: no ASR (text commands), no customer channel.
            services=[s for s in available_services() if s not in ("asr", "support")],
            internal_identity=True,  # every internal call signed: forged_call tries without
            extra_env={
                "MAX_SESSIONS_PER_USER": str(SESSIONS_PER_USER),
                "STREAM_PREFIX": prefix,
                "NLU_CONSUMER_NAME": "nlu-1",
                "CATALOG_CONSUMER_NAME": "catalog-1",
                "ORDERS_CONSUMER_NAME": "orders-1",
                "STREAM_CLAIM_IDLE_MS": "1500",
                "RPC_TIMEOUT_S": "3",
                "SHUTDOWN_GRACE_S": "1",
                "NLU_CONFIRM_PRICE_CHANGE_PCT": "100000",
                "REPLY_WAIT_S": "2",
                "PYTHONPATH": str(ROOT),
            },
        )
        chaos: Chaos | None = None
        try:
            stack.start()
            merchants = [f"fi-shop-{i + 1}" for i in range(settings.merchants)]
            for merchant in merchants:
                demo_shop.seed_catalog(f"127.0.0.1:{stack.ports['catalog']}", merchant)
                widen_price_guardrail(f"127.0.0.1:{stack.ports['catalog']}", merchant)
            commands = make_commands(settings, merchants, rng)
            chaos = Chaos(stack, private_redis, rng, settings)
            chaos.merchants = merchants
            chaos.start()
            print(f"driving {len(commands)} commands from {len(merchants)} merchants under faults...", flush=True)
            asyncio.run(drive(stack.gateway, commands, settings))
            chaos.stop_faults.set()
            time.sleep(0.5)
            chaos.wait_all_serving()
            wait_quiet(private_redis.url, prefix, database_url)
            chaos.stop()
            check_ledger(commands, database_url, private_redis.url, prefix, merchants, report)
            report.commands = len(commands)
            report.acknowledged = sum(c.outcome == "acked" for c in commands)
            report.rejected = sum(c.outcome == "rejected" for c in commands)
            report.not_acknowledged = report.commands - report.acknowledged
            report.retries = sum(c.attempts - 1 for c in commands)
            report.faults = sum(chaos.faults.values())
            report.faults_by_kind = dict(chaos.faults)
            report.problems += chaos.problems
            if report.faults < settings.min_faults:
                report.problems.append(f"only {report.faults} faults injected; at least {settings.min_faults} needed")
            if report.rejected:
                report.problems.append(f"{report.rejected} commands rejected (none should be)")
            if asked_count := sum(c.outcome == "asked" for c in commands):
                report.problems.append(f"{asked_count} commands answered with a question (none should be)")
        finally:
            if chaos is not None:
                chaos.stop()
            stack.stop()
            private_redis.stop()
        report.duration_s = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commands", type=int, default=Settings.commands)
    parser.add_argument("--merchants", type=int, default=Settings.merchants)
    parser.add_argument("--concurrency", type=int, default=Settings.concurrency)
    parser.add_argument("--min-faults", type=int, default=Settings.min_faults)
    parser.add_argument("--rate", type=float, default=Settings.rate, help="commands started per second")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the run's logs even when it passes")
    args = parser.parse_args(argv)
    settings = Settings(
        commands=args.commands,
        merchants=args.merchants,
        concurrency=args.concurrency,
        min_faults=args.min_faults,
        rate=args.rate,
        seed=args.seed,
        keep_dir=args.keep,
    )
    report = run(settings)
    print(report.figures(), flush=True)
    if args.json:
        data: dict[str, Any] = asdict(report)
        data["problems"] = report.problems[:50]
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0 if report.ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
