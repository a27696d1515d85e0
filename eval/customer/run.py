"""Play the customer set through the real customer channel and score it.

    python -m eval.customer.run --half dev [--score] [--errors] [--out DIR]

Starts catalog, orders, support and the gateway as processes on free ports, over a fresh
database and stream prefix (Postgres and Redis from DATABASE_URL / REDIS_URL, else the
local defaults), seeds the demo shop of shopvoice_cli/demo_shop.yaml (products and their
facts, policies, the customers' orders), and asks every turn of every conversation through
the gateway's CustomerAssistant/Ask with that customer's token, one conversation id per
conversation, as the customer's app would (no language given: the channel detects it).
Writes answers.jsonl and orders.json (placeholder -> seeded order id) under --out, then
with --score runs eval.customer.score on them. Only templates answer (VLLM_URL empty).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import sys
import time
import uuid
from pathlib import Path

import grpc
import psycopg
import yaml
from psycopg import sql

from eval.customer import score
from shopvoice.auth import DEV_AUTH_KEYS, mint, parse_keys
from shopvoice.config import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL
from shopvoice.support.v1 import support_pb2 as pb
from shopvoice.support.v1 import support_pb2_grpc
from shopvoice_cli import demo_shop
from shopvoice_cli.stack import Stack, ports_from

HERE = Path(__file__).resolve().parent
KINDS = {
    pb.ANSWER_KIND_ANSWERED: "answered",
    pb.ANSWER_KIND_HANDED_OFF: "handed_off",
    pb.ANSWER_KIND_NEEDS_INFO: "needs_info",
    pb.ANSWER_KIND_SMALL_TALK: "small_talk",
}


def _database(admin_url: str, name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})


def _free_base() -> int:
    """A gateway port whose whole block of stack ports is free (below the ephemeral range)."""
    rng = random.Random()
    for _ in range(100):
        base = rng.randrange(20000, 32000)
        try:
            with contextlib.ExitStack() as held:
                for port in ports_from(base).values():
                    held.enter_context(socket.socket()).bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise SystemExit("no free block of ports in 20000..32000 for the stack")


def play(set_path: Path, stack: Stack, orders: dict[str, str]) -> list[dict[str, object]]:
    conversations = yaml.safe_load(set_path.read_text(encoding="utf-8"))["conversations"]
    keys = parse_keys(DEV_AUTH_KEYS)
    rows: list[dict[str, object]] = []
    with grpc.insecure_channel(stack.gateway) as channel:
        stub = support_pb2_grpc.CustomerAssistantStub(channel)
        for conversation in conversations:
            customer = str(conversation.get("customer") or score.DEFAULT_CUSTOMER)
            token = mint(keys, demo_shop.MERCHANT_ID, customer, "customer")
            conversation_id = uuid.uuid4().hex
            for number, turn in enumerate(conversation["turns"], start=1):
                text = score.fill(str(turn["ask"]), orders)
                answer = stub.Ask(
                    pb.AskRequest(conversation_id=conversation_id, text=text, turn_id=str(number)),
                    metadata=(("authorization", f"Bearer {token}"),),
                    timeout=20,
                )
                rows.append(
                    {
                        "conversation": conversation["id"],
                        "turn": number,
                        "ask": text,
                        "answer": answer.text,
                        "kind": KINDS.get(answer.kind, "handed_off"),
                        "facts_used": [{"name": f.name, "value": f.value} for f in answer.facts_used],
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--half", choices=("dev", "test"), default="dev")
    parser.add_argument("--score", action="store_true", help="score the answers when done")
    parser.add_argument("--errors", action="store_true", help="with --score: list every miss")
    parser.add_argument("--out", type=Path, default=Path(".run/eval-customer"))
    parser.add_argument("--set", type=Path, help="another conversations file in the same format (instead of --half)")
    args = parser.parse_args(argv)
    set_path = args.set or HERE / f"conversations.{args.half}.yaml"
    admin_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    name = f"sv_eval_customer_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    args.out.mkdir(parents=True, exist_ok=True)
    stack = Stack(
        database_url=_database(admin_url, name),
        redis_url=redis_url,
        run_dir=args.out / "logs",
        ports=ports_from(int(os.environ.get("SHOPVOICE_BASE_PORT", "0")) or _free_base()),
        extra_env={"STREAM_PREFIX": f"sveval{uuid.uuid4().hex[:8]}", "VLLM_URL": ""},
        services=["catalog", "orders", "support", "gateway"],
    )
    started = time.monotonic()
    try:
        stack.start()
        demo_shop.seed_products(f"127.0.0.1:{stack.ports['catalog']}")
        demo_shop.seed_policies(f"127.0.0.1:{stack.ports['support']}")
        orders = demo_shop.seed_orders(f"127.0.0.1:{stack.ports['orders']}")
        rows = play(set_path, stack, orders)
    finally:
        stack.stop()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    answers = args.out / f"answers.{set_path.stem.split('.')[-1]}.jsonl"
    answers.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (args.out / "orders.json").write_text(json.dumps(orders, indent=1), encoding="utf-8")
    print(f"{len(rows)} turns asked in {time.monotonic() - started:.0f} s; answers in {answers}", file=sys.stderr)
    if args.score:
        extra = ["--errors"] if args.errors else []
        return score.main([str(set_path), str(answers), "--orders", str(args.out / "orders.json"), *extra])
    return 0


if __name__ == "__main__":
    sys.exit(main())
