"""Throughput and latency of SetPrice and AdjustStock over gRPC against a real
catalog process, next to pgbench's single-row UPDATE on the same server, same run.

    PYTHONPATH=. .venv/bin/python bench/catalog_bench.py [--seconds 10] [--clients 32]

Postgres: TEST_DATABASE_URL or the local server (as the tests); Redis likewise.
A fresh database is made for the run and dropped after. Not a test: it prints.
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
from pathlib import Path

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


def run_pgbench(url: str, clients: int, seconds: int) -> float:
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
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
    os.unlink(script.name)
    match = re.search(r"tps = ([\d.]+)", out)
    if not match:
        raise SystemExit(f"could not read pgbench's tps from:\n{out}")
    return float(match.group(1))


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


async def drive(
    address: str, method: str, make: Callable[[str], object], skus: list[str], clients: int, seconds: float
) -> tuple[float, list[float]]:
    """CLIENTS concurrent callers, each one call at a time, for SECONDS; returns (calls/s, latencies)."""
    latencies: list[float] = []
    errors = 0
    async with grpc.aio.insecure_channel(address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        call = getattr(stub, method)
        await call(make(skus[0]), timeout=10)  # warm the channel
        stop_at = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                request = make(random.choice(skus))
                started = time.perf_counter()
                try:
                    await call(request, timeout=10)
                except grpc.aio.AioRpcError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    if errors:
        print(f"  {method}: {errors} calls failed", file=sys.stderr)
    return len(latencies) / elapsed, latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each measurement")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (pgbench -c too)")
    args = parser.parse_args()

    with servers.postgres_admin_url() as admin, servers.redis_url() as redis_url, servers.fresh_database(admin) as url:
        pg_tps = run_pgbench(url, args.clients, args.seconds)
        with tempfile.TemporaryDirectory() as logs:
            env = {
                "DATABASE_URL": url,
                "REDIS_URL": redis_url,
                "STREAM_PREFIX": f"bench{uuid.uuid4().hex[:8]}",
                "LOG_LEVEL": "WARNING",
                "DB_POOL_MAX": os.environ.get("DB_POOL_MAX", "16"),
            }
            proc = ServiceProcess("catalog", env, Path(logs)).start()
            try:
                skus = asyncio.run(seed(proc.address))
                results = {
                    method: asyncio.run(drive(proc.address, method, make, skus, args.clients, args.seconds))
                    for method, make in (("SetPrice", set_price), ("AdjustStock", adjust_stock))
                }
            finally:
                proc.stop()

    print(
        f"catalog bench: {args.clients} concurrent clients, {args.seconds} s each, {ROWS} rows, {os.cpu_count()} CPUs"
    )
    print(f"{'':14}{'ops/s':>10}{'vs pgbench':>12}{'p50 ms':>9}{'p99 ms':>9}")
    print(f"{'pgbench UPDATE':14}{pg_tps:>10.0f}{1.0:>12.2f}{'':>9}{'':>9}")
    for method, (rate, latencies) in results.items():
        p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
        print(f"{method:14}{rate:>10.0f}{rate / pg_tps:>12.2f}{p50:>9.2f}{p99:>9.2f}")


if __name__ == "__main__":
    main()
