"""`shopvoice`: the command for people (and for `make demo`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shopvoice.auth import Key

from shopvoice_cli import demo_shop, demo_voice, errors
from shopvoice_cli.errors import CliError, Parser, Server

RUN_DIR = Path(os.environ.get("SHOPVOICE_RUN_DIR", ".run"))
GATEWAY = os.environ.get("SHOPVOICE_GATEWAY", "127.0.0.1:50051")
CATALOG = os.environ.get("CATALOG_ADDR", "127.0.0.1:50054")


def _keys() -> dict[str, Key]:
    from shopvoice.auth import DEV_AUTH_KEYS, parse_keys

    try:
        return parse_keys(os.environ.get("AUTH_KEYS", DEV_AUTH_KEYS))
    except ValueError as exc:
        raise CliError(f"{exc}; fix AUTH_KEYS, or unset it for the development key", exit_code=2) from exc


def _token(args: argparse.Namespace) -> str:
    if token := os.environ.get("SHOPVOICE_TOKEN"):
        return token
    from shopvoice.auth import mint

    return mint(
        _keys(),
        getattr(args, "merchant", demo_shop.MERCHANT_ID),
        getattr(args, "user", demo_shop.OWNER),
        getattr(args, "role", "owner"),
    )


def cmd_say(args: argparse.Namespace) -> int:
    from shopvoice_cli import say

    return say.run(args, lambda: _token(args))


def cmd_alerts(args: argparse.Namespace) -> int:
    from shopvoice_cli import alerts

    return alerts.run(args, _token(args))


def cmd_speak(args: argparse.Namespace) -> int:
    from shopvoice_cli.speak import AudioFileError, read_wav, speak_files

    try:
        recordings = [read_wav(path) for path in args.files]
        failures = asyncio.run(
            speak_files(args.gateway, _token(args), recordings, args.json, args.dry_run, realtime=not args.fast)
        )
    except AudioFileError as exc:
        raise CliError(str(exc), exit_code=2) from exc
    return 1 if failures else 0


def cmd_listen(args: argparse.Namespace) -> int:
    from shopvoice_cli.speak import listen

    return listen(args.gateway, _token(args), args.seconds, args.dry_run)


def cmd_token(args: argparse.Namespace) -> int:
    from shopvoice.auth import mint, new_ed25519_key

    if args.new_ed25519_key:
        signing, verifying = new_ed25519_key(args.new_ed25519_key)
        print(f"# signs and verifies (the token issuer's AUTH_KEYS entry):\n{signing}")
        print(f"# verifies only (the gateway's AUTH_KEYS entry):\n{verifying}")
        return 0
    print(mint(_keys(), args.merchant, args.user, args.role, args.ttl))
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from shopvoice import identity
    from shopvoice_cli.stack import KEY_HOLDERS

    services = [name for name in KEY_HOLDERS if name != "cli"]
    for name, keys in identity.keys_for(services, args.kid).items():
        print(f"{name}: INTERNAL_KEYS={keys}")
    return 0


def _start_stack() -> object:
    from shopvoice_cli import infra
    from shopvoice_cli.stack import BASE_PORT, MAX_BASE_PORT, Stack, local_llm, ports_from

    base = os.environ.get("SHOPVOICE_BASE_PORT", str(BASE_PORT))
    try:
        ports = ports_from(int(base))
    except ValueError:
        raise SystemExit(f"SHOPVOICE_BASE_PORT={base!r}: the gateway's port, 1024..{MAX_BASE_PORT}") from None
    database_url, redis_url = infra.resolve(os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL"), RUN_DIR)
    stack = Stack(
        database_url=database_url, redis_url=redis_url, run_dir=RUN_DIR / "logs", ports=ports, internal_identity=True
    )
    if os.environ.get("VLLM_URL"):
        print(f"the NLU's LLM: {os.environ['VLLM_URL']} (VLLM_URL)", flush=True)
    elif os.environ.get("SHOPVOICE_LLM", "").strip().lower() == "off":
        print("the LLM is off (SHOPVOICE_LLM=off): the grammar answers alone", flush=True)
    else:
        stack.llm, why = local_llm()
        print(why, flush=True)
    started = [*stack.services, *(["llm"] if stack.llm else [])]
    print(f"starting {', '.join(started)} (logs in {stack.run_dir}/)", flush=True)
    # The whole demo shop of demo_shop.yaml (15 products, English titles, facts), before the ASR
    # starts, so it knows the shop's products from the first word.
    try:
        stack.start(after_catalog=demo_shop.seed_products)
        if "support" in stack.services:
            demo_shop.seed_policies(f"127.0.0.1:{stack.ports['support']}")
    except BaseException:  # Ctrl-C or `kill` while starting, or a failed seed: nothing is left running
        stack.stop()
        raise
    return stack


def cmd_up(args: argparse.Namespace) -> int:
    from shopvoice_cli.stack import Stack

    # SIGTERM (`kill`, a CI job's end) stops the stack as Ctrl-C does, and so does SIGINT sent to a
    # stack started in the background (`shopvoice up &`), whose shell had it ignored: before,
    # either left the services running, orphaned, holding their ports.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupt)
    stack = _start_stack()
    assert isinstance(stack, Stack)
    try:
        print(f"gateway on {stack.gateway}; Ctrl-C stops everything", flush=True)
        stack.supervise()
    except KeyboardInterrupt:
        pass
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):  # a second one must not cut the stopping short
            signal.signal(signum, signal.SIG_IGN)
        stack.stop()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_demo(args: argparse.Namespace) -> int:
    import psycopg

    from shopvoice_cli.stack import Stack

    stack = _start_stack()
    assert isinstance(stack, Stack)
    try:
        order_id = demo_shop.place_order(f"127.0.0.1:{stack.ports['orders']}")
        print(f"(a customer placed order {order_id}: 2 × E15 保温杯)", flush=True)
        voice = "asr" in stack.processes and demo_voice.can_speak()
        if not voice:
            print("(no ASR or no espeak-ng/sox here: the spoken lines are typed instead)", flush=True)
        failures = asyncio.run(demo_voice.run(stack.gateway, _token(args), order_id, voice))
        with psycopg.connect(stack.database_url) as conn:
            rows = conn.execute(
                "SELECT sku, price, currency_code FROM catalog.variants WHERE merchant_id = %s AND sku IN ('A100', 'B200')"
                " ORDER BY sku",
                (demo_shop.MERCHANT_ID,),
            ).fetchall()
        print("in Postgres now:", ", ".join(f"{sku} = {price:.2f} {cur}" for sku, price, cur in rows), flush=True)
    finally:
        stack.stop()
    return 1 if failures else 0


def cmd_seed(args: argparse.Namespace) -> int:
    if args.orders < 0:
        raise CliError("--orders must be a positive number of orders (or leave it out to seed the catalog)", 2)
    if args.orders:
        from services.orders import seed

        stats = seed.seed(args.database_url, args.merchant, args.orders)
        print(seed.describe(stats))
        return 0
    created = demo_shop.seed_catalog(args.catalog, args.merchant)
    print(
        f"demo catalog for {args.merchant}: {created} products created, {len(demo_shop.PRODUCTS) - created} already there"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="shopvoice", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    from shopvoice_cli import say as say_command

    say = sub.add_parser(
        "say",
        help="text commands through the live stack: one session, or with --json one JSON line per text (--dry-run)",
    )
    say_command.add_arguments(say, GATEWAY)
    say.set_defaults(func=cmd_say)

    speak = sub.add_parser("speak", help="stream WAV files through the gateway and its ASR (--json, --dry-run)")
    listen_parser = sub.add_parser("listen", help="speak to the gateway through the microphone")
    from shopvoice_cli.speak import add_arguments

    add_arguments(speak, listen_parser, GATEWAY)
    speak.set_defaults(func=cmd_speak)
    listen_parser.set_defaults(func=cmd_listen)

    token = sub.add_parser("token", help="mint a development bearer token (AUTH_KEYS)")
    token.add_argument("--merchant", default=demo_shop.MERCHANT_ID)
    token.add_argument("--user", default=demo_shop.OWNER)
    token.add_argument("--role", default="owner", choices=("owner", "staff", "viewer"))
    token.add_argument("--ttl", type=int, default=3600, help="seconds")
    token.add_argument(
        "--new-ed25519-key", metavar="KID", default="", help="print a new Ed25519 key pair as AUTH_KEYS entries"
    )
    token.set_defaults(func=cmd_token)

    keys = sub.add_parser("keys", help="print a fresh INTERNAL_KEYS set: each service's own key and all public keys")
    keys.add_argument("--kid", default="k1", help="key id of the new set (a rotation uses a new one)")
    keys.set_defaults(func=cmd_keys)

    from shopvoice_cli import loadtest

    load = sub.add_parser("loadtest", help="concurrent sessions through the gateway; a ghz-style summary")
    loadtest.add_arguments(load)
    load.set_defaults(func=loadtest.run_command)

    from shopvoice_cli import ask, tickets

    ask_parser = sub.add_parser("ask", help="ask the shop as a customer (the customer channel), one conversation")
    ask.add_arguments(ask_parser, GATEWAY)
    ask_parser.set_defaults(func=ask.run)

    tickets_parser = sub.add_parser("tickets", help="the customers' tickets: list, show, reply, close (staff)")
    tickets.add_arguments(tickets_parser)
    tickets_parser.set_defaults(func=tickets.run)

    from shopvoice_cli import alerts

    alerts_parser = sub.add_parser(
        "alerts", help="the shop's recent alerts: low stock, paid orders not shipped (--json)"
    )
    alerts.add_arguments(alerts_parser, GATEWAY)
    alerts_parser.set_defaults(func=cmd_alerts)

    up = sub.add_parser("up", help="run every service on loopback, supervised, with the demo shop seeded")
    up.set_defaults(func=cmd_up)

    demo = sub.add_parser("demo", help="start the stack, run the demo conversation, show the rows, stop")
    demo.set_defaults(func=cmd_demo)

    # `parse` has its own argument parser (shopvoice_cli/parse.py); listed here for --help.
    sub.add_parser("parse", help="text to typed command, offline: `shopvoice parse --json TEXT...` (`-` reads stdin)")

    seed = sub.add_parser(
        "seed", help="seed the demo shop's catalog through the catalog API, or with --orders N its order history"
    )
    seed.add_argument("--orders", type=int, default=0, help="create N orders of history (COPY into DATABASE_URL)")
    seed.add_argument(
        "--catalog", default=CATALOG, help="catalog host:port (default CATALOG_ADDR, else the local stack's)"
    )
    seed.add_argument("--merchant", default=demo_shop.MERCHANT_ID)
    from shopvoice.config import DEFAULT_DATABASE_URL

    seed.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        help="the Postgres of the orders schema, for --orders (default DATABASE_URL)",
    )
    seed.set_defaults(func=cmd_seed)

    from shopvoice_cli import audit

    audit_parser = sub.add_parser(
        "audit", help="a merchant's audit trail: who asked, who confirmed, before/after, the rule (--csv)"
    )
    audit.add_arguments(audit_parser)
    audit_parser.set_defaults(func=audit.run_command)
    return parser


def server_of(args: argparse.Namespace) -> Server | None:
    """Which server the command talks to, for what its errors say."""
    if getattr(args, "gateway", None):
        return Server("the gateway", args.gateway, "--gateway (or SHOPVOICE_GATEWAY)")
    if args.command == "tickets":
        return Server("the support service", args.support, "--support (or SUPPORT_ADDR)")
    if args.command == "seed" and not args.orders:
        return Server("the catalog", args.catalog, "--catalog (or CATALOG_ADDR)")
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["parse"]:
        from shopvoice_cli.parse import run

        return run(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command not in ("up", "demo"):  # those make their own keys
        from shopvoice_cli.stack import load_cli_identity

        load_cli_identity(RUN_DIR / "logs")
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return errors.report(args.command, exc, server_of(args))
    return code


if __name__ == "__main__":
    sys.exit(main())
