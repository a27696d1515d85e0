"""Throughput and latency of SetPrice and AdjustStock over gRPC against a real
catalog process, next to pgbench's single-row UPDATE on the same server, same run.

    PYTHONPATH=. .venv/bin/python bench/catalog_bench.py [--seconds 10] [--clients 32] [--client-procs 2] [--workers 1,2]

Postgres: TEST_DATABASE_URL or the local server (as the tests); Redis likewise.
A fresh database is made for the run and dropped after. Not a test: it prints.
pgbench runs before and after the catalog (the ratio is to the mean of the two,
so a machine that got busier or quieter meanwhile shows in the two rows). For
each --workers value the catalog runs with WORKERS=N; the gRPC clients run in
--client-procs processes, so one Python process is not what caps the rate. Each
measurement follows at least --warmup seconds of calls (not counted). CPU
columns: the whole machine's busy share during the measurement, and CPU time
per call of the catalog processes (server), the client processes (client), the
catalog's Postgres backends (postgres; when the server is local) and everything
else (WAL writer, Redis, the relay's XADDs, whatever else shares the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psycopg

from shopvoice.common.v1.mutation_pb2 import Confirmation, Mutation

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopvoice import db, outbox
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from tests.support import servers
from tests.support.processes import ServiceProcess, tree_cpu_seconds

MERCHANT = "bench"
PGBENCH = os.environ.get("PGBENCH", "/usr/bin/pgbench")
ROWS = 1000  # pgbench and the catalog both spread writes over this many rows
START_MARGIN_S = 3.0  # for the client processes to start and connect; their calls before the window warm up


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def backend_pids(url: str) -> list[int]:
    """The Postgres backends connected to the bench's database (the catalog's pool), if the server is local."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows if Path(f"/proc/{pid}").exists()]


def backends_cpu_s(pids: list[int]) -> dict[int, float]:
    return {pid: tree_cpu_seconds(pid) for pid in pids}


def make_pgbench_table(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.bench_rows (id int PRIMARY KEY, value bigint NOT NULL)")
        conn.execute("INSERT INTO public.bench_rows SELECT g, 0 FROM generate_series(1, %s) g", (ROWS,))


# The peer of the issue: a single-row UPDATE transaction.
UPDATE_SCRIPT = f"\\set id random(1, {ROWS})\nUPDATE public.bench_rows SET value = value + 1 WHERE id = :id;\n"
# The catalog's own SetPrice statement (fastpath.CHANGE) with pgbench as its client:
# what Postgres alone allows for the catalog's writes, with no gRPC and no Python.
SET_PRICE_SQL_SCRIPT = (
    f"\\set n random(0, {ROWS - 1})\n\\set cents random(1, 99999)\n"
    "SELECT * FROM apply_variant_change(:merchant, gen_random_uuid()::text, 'SetPrice', '\\x00'::bytea,"
    " 'B' || lpad(:n::text, 4, '0'), NULL, :cents / 100.0, '{CNY}', '{2}', 1000000, NULL, NULL, 1000000,"
    " gen_random_uuid(), '', '', decode(:head, 'hex'), gen_random_uuid(), :stream);\n"
)


def run_pgbench(
    url: str, clients: int, seconds: int, script_text: str = UPDATE_SCRIPT, catalog_stream: str = ""
) -> tuple[float, float]:
    """pgbench -c CLIENTS running one custom transaction; returns tps and the machine's busy share.

    With `catalog_stream`, as the catalog's sessions do (its role, its schema,
    prepared statements), with the variables SET_PRICE_SQL_SCRIPT needs."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(script_text)
    env = {**os.environ, "PGPASSWORD": str(info.get("password") or "")}
    args = [PGBENCH, "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", script.name]
    args += ["-h", str(info.get("host", "127.0.0.1")), "-p", str(info.get("port", 5432))]
    args += ["-U", str(info.get("user", "postgres")), str(info["dbname"])]
    if catalog_stream:
        env["PGOPTIONS"] = db.session_options("catalog")
        head = outbox.new_event(MERCHANT).SerializeToString().hex()
        args += ["-M", "prepared", "-D", f"merchant={MERCHANT}", "-D", f"head={head}", "-D", f"stream={catalog_stream}"]
    busy0, total0 = machine_busy()
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    busy1, total1 = machine_busy()
    os.unlink(script.name)
    match = re.search(r"tps = ([\d.]+)", done.stdout)
    if done.returncode or not match or "failed transactions: 0 " not in done.stdout:
        raise SystemExit(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    return float(match.group(1)), (busy1 - busy0) / (total1 - total0)


async def seed(address: str) -> list[str]:
    """ROWS products of one SKU each (most products have one or a few variants)."""
    skus = [f"B{i:04d}" for i in range(ROWS)]
    async with grpc.aio.insecure_channel(address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        for start in range(0, ROWS, 50):
            await asyncio.gather(
                *(
                    stub.CreateProduct(
                        pb.CreateProductRequest(
                            mutation=Mutation(merchant_id=MERCHANT, idempotency_key=f"seed-{sku}"),
                            title=f"bench product {sku}",
                            sku=sku,
                            price=Money(units=100),
                            quantity=1_000_000,
                        ),
                        timeout=30,
                    )
                    for sku in skus[start : start + 50]
                )
            )
    return skus


def set_price(sku: str) -> pb.SetPriceRequest:
    # Random prices move far past the guardrail's window (docs/design.md, Guardrails): confirmed,
    # so that every call is the write it measures, with the guard's check included.
    return pb.SetPriceRequest(
        mutation=Mutation(
            merchant_id=MERCHANT, idempotency_key=uuid.uuid4().hex, confirmation=Confirmation(user_id="bench")
        ),
        sku=sku,
        price=Money(units=random.randint(1, 999), nanos=random.choice((0, 500_000_000, 990_000_000))),
    )


def adjust_stock(sku: str) -> pb.AdjustStockRequest:
    return pb.AdjustStockRequest(
        mutation=Mutation(merchant_id=MERCHANT, idempotency_key=uuid.uuid4().hex),
        sku=sku,
        delta=random.choice((-1, 1)),
    )


@dataclass
class Share:
    """What one client process measured in the window."""

    latencies: list[float]
    errors: int
    cpu_s: float


REQUESTS: dict[str, Callable[[str], object]] = {"SetPrice": set_price, "AdjustStock": adjust_stock}


def client_process(address: str, method: str, skus: list[str], clients: int, window: tuple[float, float]) -> Share:
    """One client process (started by `spawn`): CLIENTS callers until the window closes."""
    return asyncio.run(_callers(address, method, skus, clients, window))


async def _callers(address: str, method: str, skus: list[str], clients: int, window: tuple[float, float]) -> Share:
    """Each caller makes one call at a time on its own channel (so SO_REUSEPORT
    workers each get some); calls started and finished inside the window count."""
    opens, closes = window
    make = REQUESTS[method]
    latencies: list[float] = []
    errors = 0
    channels = [grpc.aio.insecure_channel(address) for _ in range(clients)]
    calls = [getattr(catalog_pb2_grpc.CatalogServiceStub(channel), method) for channel in channels]

    async def caller(call: Callable[..., Any]) -> None:
        nonlocal errors
        while (started := time.time()) < closes:
            try:
                await call(make(random.choice(skus)), timeout=10)
            except grpc.aio.AioRpcError:
                errors += 1
                continue
            ended = time.time()
            if started >= opens and ended <= closes:
                latencies.append(ended - started)

    try:
        await asyncio.gather(*(call(make(skus[0]), timeout=10) for call in calls))  # connect every channel
        tasks = [asyncio.create_task(caller(call)) for call in calls]  # warm-up until the window opens
        await asyncio.sleep(max(opens - time.time(), 0))
        cpu0 = time.process_time()
        await asyncio.gather(*tasks)
        cpu_s = time.process_time() - cpu0
    finally:
        for channel in channels:
            await channel.close(None)
    return Share(latencies, errors, cpu_s)


@dataclass
class Result:
    rate: float  # calls/s
    latencies: list[float]
    machine_busy: float  # share of all CPUs busy
    server_us: float  # catalog processes' CPU µs per call
    client_us: float  # the client processes' CPU µs per call
    postgres_us: float | None  # the catalog's Postgres backends' CPU µs per call (None: server not local)
    other_us: float  # the rest of the machine's busy CPU µs per call (WAL writer, Redis, other jobs)


def drive(
    address: str,
    database_url: str,
    method: str,
    skus: list[str],
    clients: int,
    processes: int,
    seconds: float,
    warmup: float,
    server_pid: int,
) -> Result:
    """CLIENTS callers spread over PROCESSES client processes; WARMUP seconds, then SECONDS measured."""
    opens = time.time() + START_MARGIN_S + warmup
    window = (opens, opens + seconds)
    spread = [clients // processes + (i < clients % processes) for i in range(processes)]
    context = multiprocessing.get_context("spawn")  # no fork: gRPC is already initialised here
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        futures = [pool.submit(client_process, address, method, skus, n, window) for n in spread]
        time.sleep(max(opens - time.time(), 0))
        busy0, total0 = machine_busy()
        server0 = tree_cpu_seconds(server_pid)
        pids = backend_pids(database_url)
        backends0 = backends_cpu_s(pids)
        time.sleep(max(window[1] - time.time(), 0))
        busy1, total1 = machine_busy()
        server_s = tree_cpu_seconds(server_pid) - server0
        backends1 = backends_cpu_s(backend_pids(database_url))
        shares = [f.result() for f in futures]
    latencies = [x for share in shares for x in share.latencies]
    errors = sum(share.errors for share in shares)
    if errors:
        print(f"  {method}: {errors} calls failed", file=sys.stderr)
    n = len(latencies)
    client_s = sum(share.cpu_s for share in shares)
    postgres_s = sum(cpu - backends0.get(pid, 0.0) for pid, cpu in backends1.items()) if pids else None
    busy_s = (busy1 - busy0) / os.sysconf("SC_CLK_TCK")
    return Result(
        n / seconds,
        latencies,
        (busy1 - busy0) / (total1 - total0),
        server_s / n * 1e6,
        client_s / n * 1e6,
        postgres_s / n * 1e6 if postgres_s is not None else None,
        max(busy_s - server_s - client_s - (postgres_s or 0), 0) / n * 1e6,
    )


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each measurement")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (pgbench -c too)")
    parser.add_argument("--client-procs", type=int, default=2, help="processes the gRPC clients are spread over")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of calls before each measurement")
    parser.add_argument("--workers", default="1", help="catalog WORKERS values to measure, comma-separated")
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]

    results: dict[str, Result] = {}
    with servers.postgres_admin_url() as admin, servers.redis_url() as redis_url, servers.fresh_database(admin) as url:
        make_pgbench_table(url)
        pgbench = [run_pgbench(url, args.clients, args.seconds)]
        for workers in worker_counts:
            with tempfile.TemporaryDirectory() as logs:
                env = {
                    "DATABASE_URL": url,
                    "REDIS_URL": redis_url,
                    "STREAM_PREFIX": f"bench{uuid.uuid4().hex[:8]}",
                    "LOG_LEVEL": "WARNING",
                    "DB_POOL_MAX": os.environ.get("DB_POOL_MAX", "16"),
                    "WORKERS": str(workers),
                }
                proc = ServiceProcess("catalog", env, Path(logs)).start()
                assert proc.proc is not None
                try:
                    skus = asyncio.run(seed(proc.address))  # replays after the first round
                    for method in REQUESTS:
                        results[f"{method} w={workers}"] = drive(
                            proc.address,
                            url,
                            method,
                            skus,
                            args.clients,
                            args.client_procs,
                            args.seconds,
                            args.warmup,
                            proc.proc.pid,
                        )
                finally:
                    proc.stop()
        pgbench.append(run_pgbench(url, args.clients, args.seconds))
        stream = f"bench{uuid.uuid4().hex[:8]}:events:catalog"  # never relayed: no catalog runs now
        ceiling = run_pgbench(url, args.clients, args.seconds, SET_PRICE_SQL_SCRIPT, stream)

    # The peer is measured before and after the catalog runs; the ratio is to their mean.
    pg_tps = statistics.mean(tps for tps, _ in pgbench)
    print(
        f"catalog bench: {args.clients} concurrent clients in {args.client_procs} processes, {args.seconds} s each"
        f" after {args.warmup:g} s warm-up, {ROWS} rows, {os.cpu_count()} CPUs (w = catalog WORKERS)"
    )
    print(
        f"{'':17}{'ops/s':>8}{'vs pgbench':>11}{'p50 ms':>8}{'p99 ms':>8}{'CPU busy':>9}"
        f"{'server':>9}{'client':>9}{'postgres':>9}{'other':>9}  (CPU µs per call)"
    )
    for label, (tps, busy) in zip(("pgbench before", "pgbench after"), pgbench, strict=True):
        print(f"{label:17}{tps:>8.0f}{tps / pg_tps:>11.2f}{'':>8}{'':>8}{busy:>9.0%}")
    print(f"{'pgbench SetPrice':17}{ceiling[0]:>8.0f}{ceiling[0] / pg_tps:>11.2f}{'':>8}{'':>8}{ceiling[1]:>9.0%}")
    for name, r in results.items():
        p50, p99 = percentile(r.latencies, 50) * 1000, percentile(r.latencies, 99) * 1000
        postgres = f"{r.postgres_us:>9.0f}" if r.postgres_us is not None else f"{'n/a':>9}"
        print(
            f"{name:17}{r.rate:>8.0f}{r.rate / pg_tps:>11.2f}{p50:>8.2f}{p99:>8.2f}{r.machine_busy:>9.0%}"
            f"{r.server_us:>9.0f}{r.client_us:>9.0f}{postgres}{r.other_us:>9.0f}"
        )


if __name__ == "__main__":
    main()
