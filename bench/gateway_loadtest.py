"""The gateway benchmark: an isolated local stack, a seeded test merchant, `shopvoice loadtest`.

    python bench/gateway_loadtest.py [--spread N] [loadtest options]   e.g. -c 50 -r 200 -z 30s --png bench.png

--spread N also seeds N more products and spreads the set_price commands over
all of them (row-lock contention on five rows is part of what the default
measures).

Starts catalog, NLU and gateway as processes on free ports with a database and
a stream prefix of their own (so it runs beside tests and other benchmarks),
seeds the demo products for merchant `loadtest-shop`, runs the load test with
the options given, and stops everything. Rate limits are lifted for the run
(set far above the offered load, but on, so their script runs as in production); sessions are capped well above -c.
Set BENCH_PROFILE=1 to record py-spy profiles (collapsed stacks) of the services.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shopvoice.cli import demo_shop, main  # noqa: E402
from shopvoice.cli.stack import Stack  # noqa: E402

MERCHANT = "loadtest-shop"
ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def with_database(url: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=name)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    import grpc

    from shopvoice.catalog.v1 import catalog_pb2 as pb
    from shopvoice.catalog.v1 import catalog_pb2_grpc
    from shopvoice.common.v1.money_pb2 import Money

    skus = [f"L{i:03d}" for i in range(1, count + 1)]
    with grpc.insecure_channel(catalog) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        for sku in skus:
            stub.CreateProduct(
                pb.CreateProductRequest(
                    mutation=pb.Mutation(merchant_id=merchant, idempotency_key=f"bench:{merchant}:{sku}"),
                    title=f"load product {sku}",
                    sku=sku,
                    price=Money(units=10),
                    quantity=100,
                ),
                timeout=10,
            )
    return skus


def main_bench(argv: list[str]) -> int:
    spread = 0
    if "--spread" in argv:  # ours, not the load tester's: seed this many extra SKUs and use them all
        at = argv.index("--spread")
        spread = int(argv[at + 1])
        argv = argv[:at] + argv[at + 2 :]
    name = f"svbench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    run_dir = Path(tempfile.mkdtemp(prefix="svbench-"))
    stack = Stack(
        database_url=with_database(ADMIN_URL, name),
        redis_url=REDIS_URL,
        run_dir=run_dir,
        ports={svc: free_port() for svc in ("gateway", "asr", "nlu", "catalog", "orders")},
        extra_env={
            "STREAM_PREFIX": f"svbench{uuid.uuid4().hex[:6]}",
            "NLU_CONSUMER_NAME": "nlu-bench",
            # High enough never to refuse, but on: the token-bucket script runs for every command.
            "RATE_LIMIT_MERCHANT_RPS": "5000",
            "RATE_LIMIT_MERCHANT_BURST": "5000",
            "RATE_LIMIT_USER_RPS": "5000",
            "RATE_LIMIT_USER_BURST": "5000",
            "MAX_SESSIONS_PER_MERCHANT": "10000",
            "DB_POOL_MAX": "20",
        },
    )
    stack.services = ["catalog", "nlu", "gateway"]  # what the text path uses today
    profilers: list[subprocess.Popen[bytes]] = []
    try:
        stack.start()
        demo_shop.seed_catalog(f"127.0.0.1:{stack.ports['catalog']}", MERCHANT)
        if spread:
            skus = [p.sku for p in demo_shop.PRODUCTS] + seed_more(
                f"127.0.0.1:{stack.ports['catalog']}", MERCHANT, spread
            )
            argv = [*argv, "--skus", ",".join(skus)]
        print(f"stack up (logs in {run_dir}); gateway {stack.gateway}", file=sys.stderr, flush=True)
        if os.environ.get("BENCH_PROFILE"):
            for svc in ("gateway", "nlu", "catalog"):
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
        code = main.main(["loadtest", "--gateway", stack.gateway, "--merchant", MERCHANT, *argv])
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
        return code
    finally:
        for spy in profilers:
            spy.send_signal(2)
            spy.wait(30)
        stack.stop()
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    sys.exit(main_bench(sys.argv[1:]))
