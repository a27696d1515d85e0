"""`shopvoice loadtest`: many concurrent sessions through the gateway, measured end to end.

Each of the -c workers holds one Converse session and says one command at a
time (closed loop, as ghz does), optionally paced so that all workers together
send at most -r commands per second. A turn's latency runs from the moment the
client has sent its command (a typed text; the last chunk of speech of a spoken
one) to the moment its terminal reply arrives; the result's stage timings split
it (loadreport.py). The run stops after -n turns or -z seconds.

What is said comes from a `Workload`: typed price changes that commit (adjust_price)
against the demo shop's SKUs (--mode text), or synthesised spoken commands streamed live at
real-time pace through the gateway's ASR (--mode voice, loadvoice.py).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc

from shopvoice import heap
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice_cli import demo_shop, loadvoice
from shopvoice_cli.client import Conversation, Turn
from shopvoice_cli.loadreport import LEGS, Leg, Report, Sample, print_summary, write_png
from shopvoice_cli.loadvoice import DEFAULT_VOICES

RETRY_CAP_S = 2.0


class Workload(Protocol):
    """What one turn says and how, and how its latency splits into legs."""

    @property
    def name(self) -> str: ...

    @property
    def leg_spec(self) -> tuple[Leg, ...]: ...

    @property
    def latency_label(self) -> str: ...

    async def turn(self, conversation: Conversation, index: int) -> Turn: ...


@dataclass
class PriceChangeText:
    """Price changes that commit, English and Chinese, over the given SKUs.

    Each SKU's turns alternate a 5% rise and a 4.76% cut (1.05 x 0.9524 = 1.0000), so
    prices stay where the shop has them however long the run, and every change stays
    under the NLU's confirmation threshold (NLU_CONFIRM_PRICE_CHANGE_PCT, 30%): each
    turn is a committed catalog write, not a confirmation prompt. (Absolute set_price
    with random prices mostly measured prompts: 84 of 100 asked to confirm.)
    """

    skus: Sequence[str] = tuple(p.sku for p in demo_shop.PRODUCTS)
    name: str = "text:adjust_price"
    leg_spec: tuple[Leg, ...] = LEGS
    latency_label: str = "end-to-end latency"

    def text(self, index: int) -> str:
        sku = self.skus[index % len(self.skus)]
        rise = (index // len(self.skus)) % 2 == 0
        if index % 2:
            return f"raise the price of {sku} by 5%" if rise else f"lower the price of {sku} by 4.76%"
        return f"把{sku}的价格提高5%" if rise else f"把{sku}的价格降低4.76%"

    async def turn(self, conversation: Conversation, index: int) -> Turn:
        return await conversation.say(self.text(index))


class Pacer:
    """A shared schedule of send slots, 1/rate apart: all workers together stay under the rate."""

    def __init__(self, rate_per_s: float) -> None:
        self.interval = 1 / rate_per_s if rate_per_s > 0 else 0.0
        self.next_slot = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass
class Plan:
    target: str
    tokens: list[str]  # one per simulated user; worker i uses tokens[i % len]
    concurrency: int
    count: int  # 0 = until the duration runs out
    duration_s: float  # 0 = until the count is reached
    rate_per_s: float
    timeout_s: float = 10.0
    connections: int = 4  # HTTP/2 connections the sessions share
    skip_first: int = 0  # turns sent but left out of the tally (ghz's --skipFirst): warm-up


def result_status(turn: Turn) -> str:
    final = turn.final
    if final is None:
        return "NO_REPLY"
    kind = final.WhichOneof("kind")
    if kind == "result":
        return gw.ResultStatus.Name(final.result.status).removeprefix("RESULT_STATUS_")
    if kind == "error":
        return final.error.code
    return "CONFIRMATION"


class Runner:
    def __init__(self, plan: Plan, workload: Workload, progress: bool = True) -> None:
        self.plan = plan
        self.workload = workload
        self.progress = progress
        self.report = Report(
            workload=workload.name,
            concurrency=plan.concurrency,
            rate_limit=plan.rate_per_s,
            leg_spec=workload.leg_spec,
            latency_label=workload.latency_label,
        )
        self.pacer = Pacer(plan.rate_per_s)
        self.tickets = itertools.count()
        self.deadline = 0.0
        self.over = False  # no more turns to start
        self.tally_started = 0.0

    def _take_ticket(self) -> int | None:
        if not self.over and self.plan.duration_s and time.perf_counter() >= self.deadline:
            self.over = True
        if not self.over:
            ticket = next(self.tickets)
            self.over = bool(self.plan.count) and ticket >= self.plan.count
            if not self.over:
                return ticket
        return None

    async def run(self) -> Report:
        heap.freeze()  # the tester's own collection pauses would show up as latency
        channels = [grpc.aio.insecure_channel(self.plan.target) for _ in range(max(1, self.plan.connections))]
        started = time.perf_counter()
        self.deadline = started + self.plan.duration_s
        self.report.started_at = time.time()
        ticker = asyncio.create_task(self._show_progress(started)) if self.progress else None
        try:
            await asyncio.gather(*(self._worker(i, channels[i % len(channels)]) for i in range(self.plan.concurrency)))
        finally:
            self.report.total_s = time.perf_counter() - (self.tally_started or started)
            if ticker:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
                print(file=sys.stderr)
            for channel in channels:
                await channel.close(None)
        return self.report

    async def _worker(self, index: int, channel: grpc.aio.Channel) -> None:
        token = self.plan.tokens[index % len(self.plan.tokens)]
        while True:
            conversation = Conversation(
                self.plan.target,
                token,
                timeout_s=self.plan.timeout_s,
                client_name="shopvoice-loadtest",
                channel=channel,
            )
            try:
                async with conversation:
                    if not await self._turns(conversation):
                        return
            except grpc.aio.AioRpcError as exc:
                if not await self._failed(exc):
                    return
            except (TimeoutError, RuntimeError) as exc:
                self.report.add_error("SESSION", f"{type(exc).__name__}: {exc}")

    async def _turns(self, conversation: Conversation) -> bool:
        """Turns on one session; False when the run is over."""
        while (ticket := self._take_ticket()) is not None:
            await self.pacer.wait()
            sent_ns = time.time_ns()
            began = time.perf_counter()
            if ticket == self.plan.skip_first:
                self.tally_started = began  # the totals (and rps) count from here
            turn = await self.workload.turn(conversation, ticket)
            latency = time.perf_counter() - began
            received_ns = turn.answered_ns or time.time_ns()
            heard_as_said = None
            if turn.speech_end_ns:  # spoken: the wait starts when the speaker stops
                sent_ns = turn.speech_end_ns
                latency = (received_ns - sent_ns) / 1e9
                heard_as_said = turn.transcript == turn.text
                if not heard_as_said and ticket >= self.plan.skip_first:
                    self.report.mishearings[f"{turn.text} → {turn.transcript or '(nothing)'}"] += 1
            result = turn.result
            timings = [(t.stage, t.at_unix_nanos) for t in result.timings] if result is not None else []
            if ticket >= self.plan.skip_first:
                self.report.add(
                    Sample(latency, result_status(turn), sent_ns, received_ns, timings, heard_as_said=heard_as_said)
                )
        return False

    async def _failed(self, exc: grpc.aio.AioRpcError) -> bool:
        """A session the gateway ended or refused; True to open another."""
        from services.gateway.status import retry_after_ms

        self.report.add_error(exc.code().name, exc.details() or "")
        if self.over or (self.plan.duration_s and time.perf_counter() >= self.deadline):
            return False
        delay = retry_after_ms(exc)
        await asyncio.sleep(min(RETRY_CAP_S, delay / 1000) if delay is not None else 0.1)
        return True

    async def _show_progress(self, started: float) -> None:
        while True:
            await asyncio.sleep(0.5)
            elapsed = time.perf_counter() - started
            live = self.report.live(window_s=2.0)
            goal = f"/{self.plan.count}" if self.plan.count else f" of {self.plan.duration_s:g}s"
            print(
                f"\r  {elapsed:6.1f}s  done {len(self.report.samples)}{goal}  rps {live.rps:7.1f}"
                f"  p99 {live.p99_ms:7.1f} ms  errors {self.report.error_count}   ",
                end="",
                file=sys.stderr,
                flush=True,
            )


def mint_tokens(merchant: str, role: str, users: int) -> list[str]:
    if token := os.environ.get("SHOPVOICE_TOKEN"):
        return [token]
    from shopvoice.auth import DEV_AUTH_KEYS, mint, parse_keys

    keys = parse_keys(os.environ.get("AUTH_KEYS", DEV_AUTH_KEYS))
    return [mint(keys, merchant, f"load-{i}", role, ttl_s=24 * 3600) for i in range(max(1, users))]


def parse_duration(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for suffix in ("ms", "s", "m", "h"):
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * units[suffix]
    return float(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Concurrent sessions through the gateway, closed loop (as ghz): a ghz-style summary, a per-stage "
        "breakdown, -O json, --png. --mode text types price changes that commit (5% up, 4.76% down, alternating); --mode voice synthesises --clips "
        "spoken commands (espeak-ng, --voices) once and streams them live at real-time pace in --chunk-ms "
        "chunks, then silence until the result, measuring from the end of speech to the result."
    )
    parser.add_argument("--gateway", default=os.environ.get("SHOPVOICE_GATEWAY", "127.0.0.1:50051"))
    parser.add_argument("-c", "--concurrency", type=int, default=50, help="concurrent sessions (default 50)")
    parser.add_argument("-n", "--total", type=int, default=0, help="stop after this many commands")
    parser.add_argument("-z", "--duration", default="", help="stop after this long: 30s, 2m (default 10s without -n)")
    parser.add_argument(
        "-r", "--rps", type=float, default=0, help="total commands per second across sessions (0 = as fast as it goes)"
    )
    parser.add_argument("--merchant", default=demo_shop.MERCHANT_ID, help="whose shop (seeded with the demo products)")
    parser.add_argument("--role", default="owner", choices=("owner", "staff", "viewer"))
    parser.add_argument(
        "--users", type=int, default=1, help="distinct user ids the sessions spread over (rate limits are per user)"
    )
    parser.add_argument(
        "--skus",
        default=",".join(p.sku for p in demo_shop.PRODUCTS),
        help="comma-separated SKUs the commands spread over (default: the demo shop's five)",
    )
    parser.add_argument(
        "--mode",
        default="text",
        choices=("text", "voice"),
        help="text: typed price changes that commit; voice: spoken stock/product commands through the ASR, live",
    )
    voice = parser.add_argument_group("voice mode (--mode voice; needs espeak-ng and sox, and a gateway with an ASR)")
    voice.add_argument(
        "--clips", type=int, default=24, help="distinct spoken commands synthesised at start (default 24)"
    )
    voice.add_argument(
        "--voices",
        default=",".join(DEFAULT_VOICES),
        help=f"comma-separated espeak-ng voices the clips rotate through (default {','.join(DEFAULT_VOICES)})",
    )
    voice.add_argument(
        "--chunk-ms",
        type=int,
        default=100,
        help="audio per message, sent at real-time pace (default 100, as Riva clients)",
    )
    parser.add_argument(
        "--skip-first",
        type=int,
        default=0,
        help="leave the first N commands out of the results (warm-up), as ghz's --skipFirst",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for one reply")
    parser.add_argument("--connections", type=int, default=4, help="HTTP/2 connections the sessions share")
    parser.add_argument("-O", "--output", default="summary", choices=("summary", "json"))
    parser.add_argument("--png", default="", help="write a latency histogram PNG here")
    parser.add_argument("--quiet", action="store_true", help="no progress line")


class OptionError(ValueError):
    """Options that cannot make a run: says which and why."""


def plan_from(args: argparse.Namespace) -> Plan:
    for name, value, least in (
        ("-c/--concurrency", args.concurrency, 1),
        ("-n/--total", args.total, 0),
        ("--users", args.users, 1),
        ("--connections", args.connections, 1),
        ("--skip-first", args.skip_first, 0),
    ):
        if value < least:
            raise OptionError(f"{name} must be at least {least} (got {value})")
    if args.rps < 0 or args.timeout <= 0:
        raise OptionError("-r/--rps must be 0 or more and --timeout more than 0")
    try:
        duration = parse_duration(args.duration) if args.duration else (0.0 if args.total else 10.0)
    except ValueError:
        raise OptionError(f"-z/--duration {args.duration!r} is not a duration such as 30s, 2m or 500ms") from None
    if duration < 0:
        raise OptionError(f"-z/--duration must not be negative (got {args.duration})")
    return Plan(
        target=args.gateway,
        tokens=mint_tokens(args.merchant, args.role, args.users),
        concurrency=args.concurrency,
        count=args.total,
        duration_s=duration,
        rate_per_s=args.rps,
        timeout_s=args.timeout,
        connections=args.connections,
        skip_first=args.skip_first,
    )


def workload_from(args: argparse.Namespace) -> Workload:
    """The workload the options ask for; a voice workload synthesises its clips here, once."""
    skus = [sku.strip().upper() for sku in args.skus.split(",") if sku.strip()]
    if not skus:
        raise OptionError("--skus names no SKU")
    if args.mode == "text":
        return PriceChangeText(skus=skus)
    voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    try:
        loadvoice.check_options(args.clips, voices, args.chunk_ms)
        if not args.quiet:
            print(f"synthesising {args.clips} spoken commands …", file=sys.stderr, flush=True)
        clips = loadvoice.synthesise(skus, args.clips, voices)
    except loadvoice.VoiceSetupError as exc:
        raise OptionError(str(exc)) from None
    return loadvoice.SpokenCommands(clips, args.chunk_ms)


def show(report: Report, args: argparse.Namespace, peer: Report | None = None, target_ms: float = 0.0) -> None:
    """The summary (or JSON) on stdout, and the PNG when asked for."""
    if args.output == "json":
        import json

        out = report.to_dict()
        if peer is not None:
            out["peer"] = peer.to_dict()
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print_summary(report)
    if args.png:
        write_png(report, args.png, peer, target_ms)
        if args.output != "json":
            print(f"\nLatency histogram: {args.png}")


def run_command(args: argparse.Namespace) -> int:
    try:
        plan = plan_from(args)
        workload = workload_from(args)
    except OptionError as exc:
        print(f"shopvoice loadtest: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(Runner(plan, workload, progress=not args.quiet).run())
    show(report, args)
    return exit_code(report)


def exit_code(report: Report) -> int:
    return 0 if report.samples and not report.error_count else 1
