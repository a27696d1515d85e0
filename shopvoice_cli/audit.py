"""`shopvoice audit`: a merchant's audit trail, filtered, as a table or CSV.

Two views of one trail (docs/design.md, "Guardrails for automated changes"):
- turns (default): the gateway's audit log, one row per command a person sent: when, who,
  what was heard and understood, the result, and for a change who asked, who confirmed,
  the values before and after and the guardrail rule that asked;
- `--changes`: the catalog's history, one row per product changed (a bulk change is one
  row per product), with who asked, who confirmed and the rule, and what was heard and
  understood when the command came from a person's utterance.

It reads Postgres directly (DATABASE_URL, the owner of every service's schema), as an
auditor would; it changes nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from shopvoice_cli.errors import CliError

TURN_COLUMNS = (
    "heard_at",
    "user_id",
    "role",
    "heard",
    "understood",
    "status",
    "message",
    "subject",
    "field",
    "before",
    "after",
    "requested_by",
    "confirmed_by",
    "rule",
    "requested_in",
    "utterance_id",
)
CHANGE_COLUMNS = (
    "changed_at",
    "sku",
    "kind",
    "before",
    "after",
    "requested_by",
    "confirmed_by",
    "rule",
    "method",
    "command_id",
    "heard",
    "understood",
)

_TURNS = """
SELECT a.heard_at, a.user_id, a.role, a.heard, a.understood, a.status, a.message, a.subject, a.field,
       a.before_value, a.after_value, a.requested_by, a.confirmed_by, a.rule, a.requested_in, a.utterance_id
FROM {schema}.audit_log a
WHERE a.merchant_id = %(m)s
  AND (%(since)s::timestamptz IS NULL OR a.heard_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR a.heard_at < %(until)s)
  AND (%(user)s::text IS NULL OR %(user)s IN (a.user_id, a.requested_by, a.confirmed_by))
  AND (%(sku)s::text IS NULL OR a.subject = %(sku)s OR a.understood -> 'slots' ->> 'sku' = %(sku)s)
  AND (NOT %(changes_only)s OR a.change_id <> '' OR a.rule <> '')
ORDER BY a.heard_at, a.id
LIMIT %(limit)s
"""
_CHANGES = """
SELECT c.created_at, c.sku, c.kind, c.old_value, c.new_value, c.user_id, c.confirmed_by, c.rule, c.method,
       c.command_id, t.heard, t.understood
FROM {catalog}.changes c
LEFT JOIN LATERAL (
    SELECT a.heard, a.understood FROM {schema}.audit_log a
    WHERE a.merchant_id = c.merchant_id AND a.utterance_id = c.command_id AND c.command_id <> ''
    ORDER BY a.id LIMIT 1
) t ON true
WHERE c.merchant_id = %(m)s
  AND (%(since)s::timestamptz IS NULL OR c.created_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR c.created_at < %(until)s)
  AND (%(user)s::text IS NULL OR %(user)s IN (c.user_id, c.confirmed_by))
  AND (%(sku)s::text IS NULL OR c.sku = %(sku)s)
ORDER BY c.seq
LIMIT %(limit)s
"""
_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]*$")


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """An ISO date or time ("2026-12-01", "2026-12-01T08:00+08:00"; UTC when no zone is
    given), or a span back from now ("24h", "7d", "30m", "2w")."""
    now = now or datetime.now(UTC)
    if found := _RELATIVE.match(text.strip()):
        return now - timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"{text!r} is not a time: use an ISO date or time (2026-12-01) or a span (24h, 7d)", 2) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def query(args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    import psycopg

    for name in (args.schema, args.catalog_schema):
        if not _SCHEMA.match(name):
            raise CliError(f"schema {name!r} is not a schema name", 2)
    params = {
        "m": args.merchant,
        "since": parse_time(args.since) if args.since else None,
        "until": parse_time(args.until) if args.until else None,
        "user": args.user or None,
        "sku": args.product.upper() if args.product else None,
        "changes_only": not args.all_turns,
        "limit": args.limit,
    }
    sql = (_CHANGES if args.changes else _TURNS).format(schema=args.schema, catalog=args.catalog_schema)
    with psycopg.connect(args.database_url) as conn:
        rows = conn.execute(sql, params).fetchall()
    columns = CHANGE_COLUMNS if args.changes else TURN_COLUMNS
    return columns, [tuple(_cell(v) for v in row) for row in rows]


def write_csv(out: TextIO, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)


def write_table(out: TextIO, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """One block per row: the columns that have a value, one per line (rows are wide)."""
    if not rows:
        out.write("no audit records match\n")
        return
    for row in rows:
        out.write(" · ".join(f"{c}={v}" for c, v in zip(columns, row, strict=True) if v) + "\n")


def run_command(args: argparse.Namespace) -> int:
    if args.limit <= 0:
        raise CliError("--limit must be a positive number of rows", 2)
    columns, rows = query(args)
    if args.csv == "-":
        write_csv(sys.stdout, columns, rows)
    elif args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as out:
            write_csv(out, columns, rows)
        print(f"{len(rows)} audit records written to {args.csv}")
    else:
        write_table(sys.stdout, columns, rows)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from shopvoice.config import DEFAULT_DATABASE_URL

    parser.add_argument("--merchant", required=True, help="the shop whose trail to list")
    parser.add_argument("--product", default="", help="only this SKU")
    parser.add_argument("--user", default="", help="only rows this user asked for or confirmed")
    parser.add_argument("--since", default="", help="from this time: ISO (2026-12-01) or a span back (24h, 7d)")
    parser.add_argument("--until", default="", help="before this time (same forms)")
    parser.add_argument(
        "--changes", action="store_true", help="the catalog's per-product change history instead of the turns"
    )
    parser.add_argument("--all-turns", action="store_true", help="every turn, not only changes and guardrail questions")
    parser.add_argument("--csv", default="", metavar="PATH", help="write CSV to PATH ('-' for stdout)")
    parser.add_argument("--limit", type=int, default=10_000, help="at most this many rows (default 10000)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        help="Postgres holding the gateway's and the catalog's schemas (default DATABASE_URL)",
    )
    parser.add_argument("--schema", default="gateway", help="the gateway's schema (default gateway)")
    parser.add_argument("--catalog-schema", default="catalog", help="the catalog's schema (default catalog)")
