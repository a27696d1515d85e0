"""The gateway benchmark: an isolated local stack, a seeded test merchant, `shopvoice loadtest`.

    python bench/gateway_loadtest.py [--spread N] [--asr-peer SECONDS] [--target-ms MS] [loadtest options]
    e.g. -c 50 -r 200 -z 30s --png bench.png;  --mode voice -c 16 -z 60s --png voice.png

--spread N also seeds N more products and spreads the commands over all of them
(row-lock contention on five rows is part of what the default measures).

--bulk-import N [--bulk-import-at S] creates the synthetic shop's next N products S seconds (10)
into the run, while the sessions speak: the summary's slowest turn is the one to watch.

--catalog N seeds N more products of a synthetic shop (tests/support/synthetic_catalog.py: SKUs like
"TS1042", titles whose words the recogniser knows) beside the demo shop's, so the ASR's grammar
and the NLU's resolution work at that catalog size; the commands and clips stay the same (the
demo shop's SKUs), so runs at several sizes compare (`make bench-gateway-voice CATALOGS="10 1000
10000"`). The run starts once the ASR serves a grammar built from the seeded catalog.

Starts catalog, NLU and gateway (and the ASR for --mode voice) as processes on
free ports with a database and a stream prefix of their own (so it runs beside
tests and other benchmarks), seeds the demo products for merchant
`loadtest-shop`, runs the load test with the options given, and stops everything.

With --mode voice the peer comes first, in the same run: the same clips sent live
straight to the ASR by the same number of sessions for --asr-peer seconds (default
20; 0 = none), end of speech to final transcript. Next to the gateway run's end of
speech to result it shows what the gateway, NLU and catalog add to the ASR's own
latency; the PNG draws it as an outline over the gateway run, with --target-ms (default
500 for voice) as a line. Rate limits are lifted for the run
(set far above the offered load, but on, so their script runs as in production); sessions are capped well above -c.
Set BENCH_PROFILE=1 to record py-spy profiles (collapsed stacks) of the services.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from shopvoice.common.v1.mutation_pb2 import Mutation

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shopvoice_cli import demo_shop, loadtest, loadvoice, main  # noqa: E402
from shopvoice_cli.loadreport import Report  # noqa: E402
from shopvoice_cli.stack import Stack  # noqa: E402
from tests.support import synthetic_catalog  # noqa: E402
from tests.support.processes import cpu_seconds, free_stack_ports, memory_mb, tree_pids  # noqa: E402

MERCHANT = "loadtest-shop"
ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def with_database(url: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=name)


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each Postgres backend serving the bench database."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]
    out: dict[int, float] = {}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # ended meanwhile
            out[pid] = cpu_seconds(pid)
    return out


def seed_more(catalog: str, merchant: str, count: int) -> list[str]:
    """Extra products L001..Lnnn, so the load can spread over more rows than the demo's five."""
    skus = [f"L{i:03d}" for i in range(1, count + 1)]
    seed_products(catalog, merchant, [(sku, f"load product {sku}") for sku in skus])
    return skus


def seed_products(catalog: str, merchant: str, products: list[tuple[str, str]], window: int = 32) -> float:
    """Create (SKU, title) products as the shop's owner, `window` calls in flight; the seconds it took."""
    from shopvoice import identity
    from shopvoice.catalog.v1 import catalog_pb2 as pb
    from shopvoice.catalog.v1 import catalog_pb2_grpc
    from shopvoice.common.v1.money_pb2 import Money
    from shopvoice.common.v1.mutation_pb2 import Actor

    began = time.monotonic()
    with identity.sync_channel(catalog) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        pending = []
        for sku, title in products:
            request = pb.CreateProductRequest(
                mutation=Mutation(
                    merchant_id=merchant,
                    idempotency_key=f"bench:{merchant}:{sku}",
                    actor=Actor(user_id=demo_shop.OWNER, role="owner"),
                ),
                title=title,
                sku=sku,
                price=Money(units=10),
                quantity=100,
            )
            pending.append(stub.CreateProduct.future(request, timeout=60))
            if len(pending) >= window:
                pending.pop(0).result()
        for call in pending:
            call.result()
    return time.monotonic() - began


def wait_for_vocabulary(asr_log: Path, timeout_s: float) -> float:
    """Wait until the ASR serves a grammar built from the catalog (its log says so); the seconds waited."""
    began = time.monotonic()
    while "new vocabulary serving" not in asr_log.read_text(errors="replace"):
        if time.monotonic() - began > timeout_s:
            raise SystemExit(f"bench: the ASR did not take the catalog's vocabulary in {timeout_s:g} s; see {asr_log}")
        time.sleep(0.5)
    return time.monotonic() - began


def asr_scale_line(pid: int, asr_log: Path) -> str:
    """The ASR's grammar (from its log's last "grammar compiled") and memory (server + children, RSS)."""
    import re

    compiled: dict[str, str] = {}
    for line in asr_log.read_text(errors="replace").splitlines():
        if "grammar compiled" in line:  # a decoding process's line: key=value pairs
            compiled = dict(re.findall(r"(\w+)=([\w.]+)", line))
    pids = tree_pids(pid)
    rss, pss = sum(memory_mb(p) for p in pids), sum(memory_mb(p, "Pss") for p in pids)
    # Said, because the figures differ a lot: without whisper a rejected turn gets no result at all
    # (and `make test` rebuilds .venv from the lock, which takes out what `make models` added).
    engine = (
        "OFF (grammar only: rejected speech gets no result; `make models` installs whisper)"
        if "open-vocabulary engine off" in asr_log.read_text(errors="replace")
        else "on (whisper-base decodes what the grammar rejects)"
    )
    return (
        f"ASR grammar: {compiled.get('transitions')} transitions, {compiled.get('words')} words, built in"
        f" {compiled.get('seconds')} s (phrases + FSG + first decoder, in a decoding process); ASR memory:"
        f" {rss:.0f} MB RSS ({pss:.0f} MB PSS), server and {len(pids) - 1} child processes;"
        f" open-vocabulary engine {engine}"
    )


class BulkImport(threading.Thread):
    """Products created as the shop's owner `at_s` seconds into the run (a merchant's bulk import), and
    when the ASR swapped in a grammar built from the whole catalog after it (its log's "new vocabulary
    serving products=N", N the catalog with the import): how long a new product waited to be heard."""

    def __init__(
        self, catalog_port: int, products: list[tuple[str, str]], asr_log: Path, at_s: float, total: int
    ) -> None:
        super().__init__(daemon=True)
        self.catalog = f"127.0.0.1:{catalog_port}"
        self.products, self.asr_log, self.at_s, self.total = products, asr_log, at_s, total
        self.took_s = 0.0
        self.swaps_before = 0
        self.ended = 0.0  # wall clock: the ASR's log has wall-clock times

    def run(self) -> None:
        time.sleep(self.at_s)
        self.swaps_before = self.asr_log.read_text(errors="replace").count("new vocabulary serving")
        self.took_s = seed_products(self.catalog, MERCHANT, self.products)
        self.ended = time.time()

    def served_at(self) -> float | None:
        """When the ASR first served a grammar of the whole catalog, import included (wall clock): its
        log's first "vocabulary loaded" with every SKU, then the next "new vocabulary serving" (the
        swap; none when what the grammar hears did not change)."""
        loaded: float | None = None
        for line in self.asr_log.read_text(errors="replace").splitlines():
            if loaded is None and line.startswith("{") and '"vocabulary loaded"' in line:
                entry = json.loads(line)
                if entry.get("skus") == self.total:
                    stamp = datetime.datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
                    loaded = stamp.timestamp()
            elif loaded is not None and "new vocabulary serving" in line:
                stamp = datetime.datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.UTC)
                return max(loaded, stamp.timestamp())
        return loaded

    def summary(self) -> str:
        swaps = self.asr_log.read_text(errors="replace").count("new vocabulary serving") - self.swaps_before
        served = self.served_at()
        # The log's times are to the second: the wait is given as a range, never rounded down.
        heard = (
            f"a grammar of the whole catalog served {max(0.0, served - self.ended):.0f}-{served + 1 - self.ended:.0f} s"
            " after the last product was created (target 10 s)"
            if served is not None
            else "no grammar of the whole catalog was served before the run ended"
        )
        return (
            f"bulk import: {len(self.products)} products created {self.at_s:g} s into the run, in {self.took_s:.1f} s;"
            f" the ASR swapped in {swaps} new grammar(s) after it began; {heard}"
            " (SKUs of known prefixes are heard at once, by pattern)"
        )


def take_option(argv: list[str], name: str, default: float) -> tuple[float, list[str]]:
    """One of the bench's own options (not the load tester's): its value and the rest of argv."""
    if name not in argv:
        return default, argv
    at = argv.index(name)
    return float(argv[at + 1]), argv[:at] + argv[at + 2 :]


def compare(peer: Report, report: Report) -> None:
    """The gateway run next to the ASR alone on the same audio: the gateway path's share."""
    ours, alone = report.to_dict(), peer.to_dict()
    print("\nEnd of speech → …, same clips, same sessions, same run (ms):")
    print(f"  {'':34} {'count':>6} {'p50':>8} {'p90':>8} {'p95':>8} {'p99':>8}")
    for label, d in (("ASR alone: final transcript", alone), ("through the gateway: result", ours)):
        dist = d["latency_distribution_ms"]
        print(
            f"  {label:34} {d['count']:6d} {dist['p50']:8.1f} {dist['p90']:8.1f} {dist['p95']:8.1f} {dist['p99']:8.1f}"
        )
    if alone.get("transcripts"):
        t = alone["transcripts"]
        print(f"  ASR alone heard {t['heard_as_said']} of {t['spoken']} exactly as said")
    if alone["error_distribution"]:
        print(f"  ASR alone errors: {alone['error_distribution']}")


def main_bench(argv: list[str]) -> int:
    spread, argv = take_option(argv, "--spread", 0)  # seed this many extra SKUs and use them all
    catalog_size, argv = take_option(argv, "--catalog", 0)  # seed this many synthetic products too
    bulk_import, argv = take_option(argv, "--bulk-import", 0)  # create this many more during the run
    bulk_import_at, argv = take_option(argv, "--bulk-import-at", 10)  # seconds into the run
    peer_s, argv = take_option(argv, "--asr-peer", 20)
    target_ms, argv = take_option(argv, "--target-ms", -1)
    parser = main.build_parser()
    args = parser.parse_args(["loadtest", "--gateway", "pending", "--merchant", MERCHANT, *argv])
    voice = args.mode == "voice"
    if target_ms < 0:  # the targets: voice p95 under 500 ms, text p99 under 100 ms
        target_ms = 500.0 if voice else 100.0
    extra_skus = [f"L{i:03d}" for i in range(1, int(spread) + 1)]
    if extra_skus:
        args.skus = ",".join([p.sku for p in demo_shop.PRODUCTS] + extra_skus)
    try:
        plan = loadtest.plan_from(args)
        workload = loadtest.workload_from(args)  # the clips are synthesised before anything starts
    except loadtest.OptionError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    name = f"svbench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    run_dir = Path(tempfile.mkdtemp(prefix="svbench-"))
    stack = Stack(
        database_url=with_database(ADMIN_URL, name),
        redis_url=REDIS_URL,
        run_dir=run_dir,
        ports=free_stack_ports(),
        extra_env={
            "STREAM_PREFIX": f"svbench{uuid.uuid4().hex[:6]}",
            "NLU_CONSUMER_NAME": "nlu-bench",
            # High enough never to refuse, but on: the token-bucket script runs for every command.
            "RATE_LIMIT_MERCHANT_RPS": "5000",
            "RATE_LIMIT_MERCHANT_BURST": "5000",
            "RATE_LIMIT_USER_RPS": "5000",
            "RATE_LIMIT_USER_BURST": "5000",
            "MAX_SESSIONS_PER_MERCHANT": "10000",
            "MAX_SESSIONS_PER_USER": "10000",  # the load tester's sessions may share a user
            "DB_POOL_MAX": "20",
            # The ASR's grammar knows the bench merchant's products; room for every session's stream
            # (a finished turn's stream may still be closing when the session's next one opens).
            "ASR_VOCABULARY_MERCHANT_ID": MERCHANT,
            "ASR_MAX_STREAMS": str(2 * args.concurrency + 8),
        },
    )
    profilers: list[subprocess.Popen[bytes]] = []
    try:

        def seed(catalog: str) -> None:
            demo_shop.seed_catalog(catalog, MERCHANT)
            if extra_skus:
                seed_more(catalog, MERCHANT, len(extra_skus))
            if catalog_size:
                took = seed_products(catalog, MERCHANT, synthetic_catalog.products(int(catalog_size)))
                print(
                    f"catalog: {len(demo_shop.PRODUCTS)} demo + {int(catalog_size)} synthetic products"
                    f" (seeded in {took:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )

        # Seeded before the ASR starts: it loads the merchant's vocabulary when it starts.
        stack.services = ["catalog", "asr", "nlu", "gateway"] if voice else ["catalog", "nlu", "gateway"]
        stack.start(after_catalog=seed)
        plan.target = stack.gateway
        print(f"stack up (logs in {run_dir}); gateway {stack.gateway}", file=sys.stderr, flush=True)
        if voice:
            waited = wait_for_vocabulary(run_dir / "asr.log", 600)
            print(f"the ASR serves the catalog's grammar ({waited:.1f} s after the stack was up)", file=sys.stderr)
            print(asr_scale_line(stack.processes["asr"].popen.pid, run_dir / "asr.log"), file=sys.stderr)  # type: ignore[union-attr]
        peer = None
        if voice and peer_s > 0:
            assert isinstance(workload, loadvoice.SpokenCommands)
            print(f"peer: the same clips straight to the ASR for {peer_s:g} s …", file=sys.stderr, flush=True)
            peer = asyncio.run(
                loadvoice.asr_alone(
                    f"127.0.0.1:{stack.ports['asr']}",
                    workload.clips,
                    args.concurrency,
                    peer_s,
                    workload.chunk_ms,
                    args.timeout,
                )
            )
        if os.environ.get("BENCH_PROFILE"):
            for svc in stack.processes:
                pid = stack.processes[svc].popen.pid  # type: ignore[union-attr]
                out = run_dir / f"profile-{svc}.txt"
                spy = Path(sys.executable).parent / "py-spy"
                profilers.append(
                    subprocess.Popen(
                        [
                            str(spy),
                            "record",
                            "-p",
                            str(pid),
                            "-o",
                            str(out),
                            "-r",
                            "50",
                            "--format",
                            "raw",
                            "--nonblocking",
                        ],
                        stderr=subprocess.DEVNULL,
                    )
                )
                print(f"profiling {svc} into {out}", file=sys.stderr)
        before = {svc: cpu_seconds(p.popen.pid) for svc, p in stack.processes.items() if p.popen}
        pg_before = postgres_cpu(name)
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        importer = None
        if bulk_import:
            # The next `bulk_import` products of the synthetic shop, created while the sessions speak.
            fresh = synthetic_catalog.products(int(catalog_size + bulk_import))[: int(bulk_import)]
            total = len(demo_shop.PRODUCTS) + len(extra_skus) + int(catalog_size) + len(fresh)
            importer = BulkImport(stack.ports["catalog"], fresh, run_dir / "asr.log", bulk_import_at, total)
            importer.start()
        report = asyncio.run(loadtest.Runner(plan, workload, progress=not args.quiet).run())
        if importer is not None:
            importer.join()
            print(importer.summary(), file=sys.stderr)
        own = resource.getrusage(resource.RUSAGE_SELF)
        used = {svc: cpu_seconds(p.popen.pid) - before[svc] for svc, p in stack.processes.items() if p.popen}
        used["loadtest client"] = own.ru_utime + own.ru_stime - own_before.ru_utime - own_before.ru_stime
        pg_after = postgres_cpu(name)
        used["postgres"] = sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in pg_after.items())
        # CPU time is what the 2 cores have to give, whatever else runs on the machine:
        # the capacity figure that does not depend on a quiet machine.
        print("\nCPU seconds used during the run (Redis not included: it is shared):", file=sys.stderr)
        for svc, seconds in used.items():
            print(f"  {svc:16} {seconds:7.2f}", file=sys.stderr)
        loadtest.show(report, args, peer, target_ms)
        if peer is not None and args.output != "json":
            compare(peer, report)
        return loadtest.exit_code(report)
    finally:
        for profiler in profilers:
            profiler.send_signal(2)
            profiler.wait(30)
        stack.stop()
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    sys.exit(main_bench(sys.argv[1:]))
