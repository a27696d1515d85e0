"""Throughput and latency of SetPrice and AdjustStock over gRPC against a real
catalog process, next to pgbench's single-row UPDATE on the same server, same run.

    PYTHONPATH=. .venv/bin/python bench/catalog_bench.py [--seconds 10] [--clients 32] [--workers 1,2]

Postgres: TEST_DATABASE_URL or the local server (as the tests); Redis likewise.
A fresh database is made for the run and dropped after. Not a test: it prints.
Each measurement follows a warm-up of --warmup seconds (not counted). For each
--workers value the catalog runs with WORKERS=N. CPU columns: the whole
machine's busy share during the measurement, and CPU time per call of the
catalog processes (server), of this driver (client, the 32 gRPC callers) and of
everything else (Postgres, and whatever else shares the machine).
"""

from __future__ import annotations

import argparse
import asyncio
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from tests.support import servers
from tests.support.processes import ServiceProcess

MERCHANT = "bench"
PGBENCH = os.environ.get("PGBENCH", "/usr/bin/pgbench")
ROWS = 1000  # pgbench and the catalog both spread writes over this many rows


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def run_pgbench(url: str, clients: int, seconds: int) -> tuple[float, float]:
    """pgbench -c CLIENTS with a custom one-statement UPDATE transaction; returns tps."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.bench_rows (id int PRIMARY KEY, value bigint NOT NULL)")
        conn.execute("INSERT INTO public.bench_rows SELECT g, 0 FROM generate_series(1, %s) g", (ROWS,))
    info = psycopg.conninfo.conninfo_to_dict(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(f"\\set id random(1, {ROWS})\nUPDATE public.bench_rows SET value = value + 1 WHERE id = :id;\n")
    env = {**os.environ, "PGPASSWORD": str(info.get("password") or "")}
    args = [PGBENCH, "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", script.name]
    args += ["-h", str(info.get("host", "127.0.0.1")), "-p", str(info.get("port", 5432))]
    args += ["-U", str(info.get("user", "postgres")), str(info["dbname"])]
    busy0, total0 = machine_busy()
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
    busy1, total1 = machine_busy()
    os.unlink(script.name)
    match = re.search(r"tps = ([\d.]+)", out)
    if not match:
        raise SystemExit(f"could not read pgbench's tps from:\n{out}")
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
                            mutation=pb.Mutation(merchant_id=MERCHANT, idempotency_key=f"seed-{sku}"),
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
    return pb.SetPriceRequest(
        mutation=pb.Mutation(merchant_id=MERCHANT, idempotency_key=uuid.uuid4().hex),
        sku=sku,
        price=Money(units=random.randint(1, 999), nanos=random.choice((0, 500_000_000, 990_000_000))),
    )


def adjust_stock(sku: str) -> pb.AdjustStockRequest:
    return pb.AdjustStockRequest(
        mutation=pb.Mutation(merchant_id=MERCHANT, idempotency_key=uuid.uuid4().hex),
        sku=sku,
        delta=random.choice((-1, 1)),
    )


@dataclass
class Result:
    rate: float  # calls/s
    latencies: list[float]
    machine_busy: float  # share of all CPUs busy
    server_us: float  # catalog processes' CPU µs per call
    client_us: float  # this driver's CPU µs per call
    other_us: float  # the rest of the machine's busy CPU µs per call (Postgres, other jobs)


async def drive(
    address: str,
    method: str,
    make: Callable[[str], object],
    skus: list[str],
    clients: int,
    seconds: float,
    warmup: float,
    server_pid: int,
) -> Result:
    """CLIENTS concurrent callers, each one call at a time (one channel per caller,
    so SO_REUSEPORT workers each get some), WARMUP seconds then SECONDS measured."""
    latencies: list[float] = []
    errors = 0
    channels = [grpc.aio.insecure_channel(address) for _ in range(clients)]
    calls = [getattr(catalog_pb2_grpc.CatalogServiceStub(channel), method) for channel in channels]
    measuring = False

    async def client(call: Callable[..., Any], stop_at: float) -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            request = make(random.choice(skus))
            started = time.perf_counter()
            try:
                await call(request, timeout=10)
            except grpc.aio.AioRpcError:
                errors += 1
                continue
            if measuring:
                latencies.append(time.perf_counter() - started)

    try:
        await asyncio.gather(*(call(make(skus[0]), timeout=10) for call in calls))  # connect every channel
        await asyncio.gather(*(client(call, time.perf_counter() + warmup) for call in calls))
        measuring = True
        busy0, total0 = machine_busy()
        server0, client0 = tree_cpu_s(server_pid), time.process_time()
        began = time.perf_counter()
        await asyncio.gather(*(client(call, began + seconds) for call in calls))
        elapsed = time.perf_counter() - began
        busy1, total1 = machine_busy()
        server_s, client_s = tree_cpu_s(server_pid) - server0, time.process_time() - client0
    finally:
        for channel in channels:
            await channel.close()
    if errors:
        print(f"  {method}: {errors} calls failed", file=sys.stderr)
    n = len(latencies)
    tick = os.sysconf("SC_CLK_TCK")
    busy_s = (busy1 - busy0) / tick
    return Result(
        n / elapsed,
        latencies,
        (busy1 - busy0) / (total1 - total0),
        server_s / n * 1e6,
        client_s / n * 1e6,
        max(busy_s - server_s - client_s, 0) / n * 1e6,
    )


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each measurement")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (pgbench -c too)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of calls before each measurement")
    parser.add_argument("--workers", default="1", help="catalog WORKERS values to measure, comma-separated")
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]

    results: dict[str, Result] = {}
    with servers.postgres_admin_url() as admin, servers.redis_url() as redis_url, servers.fresh_database(admin) as url:
        pg_tps, pg_busy = run_pgbench(url, args.clients, args.seconds)
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
                    for method, make in (("SetPrice", set_price), ("AdjustStock", adjust_stock)):
                        results[f"{method} w={workers}"] = asyncio.run(
                            drive(
                                proc.address, method, make, skus, args.clients, args.seconds, args.warmup, proc.proc.pid
                            )
                        )
                finally:
                    proc.stop()

    print(
        f"catalog bench: {args.clients} concurrent clients, {args.seconds} s each after {args.warmup:g} s warm-up,"
        f" {ROWS} rows, {os.cpu_count()} CPUs (w = catalog WORKERS)"
    )
    print(
        f"{'':17}{'ops/s':>8}{'vs pgbench':>11}{'p50 ms':>8}{'p99 ms':>8}{'CPU busy':>9}"
        f"{'server':>9}{'client':>9}{'other':>9}  (CPU µs per call)"
    )
    print(f"{'pgbench UPDATE':17}{pg_tps:>8.0f}{1.0:>11.2f}{'':>8}{'':>8}{pg_busy:>9.0%}")
    for name, r in results.items():
        p50, p99 = percentile(r.latencies, 50) * 1000, percentile(r.latencies, 99) * 1000
        print(
            f"{name:17}{r.rate:>8.0f}{r.rate / pg_tps:>11.2f}{p50:>8.2f}{p99:>8.2f}{r.machine_busy:>9.0%}"
            f"{r.server_us:>9.0f}{r.client_us:>9.0f}{r.other_us:>9.0f}"
        )


if __name__ == "__main__":
    main()
