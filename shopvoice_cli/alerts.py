"""`shopvoice alerts`: the shop's recent alerts (low stock, paid orders not shipped), newest first.

    shopvoice alerts
    shopvoice alerts --merchant demo-shop --limit 5 --json

Through the gateway's public API (Assistant/ListAlerts) with the merchant's token
(SHOPVOICE_TOKEN, else a development token for --merchant as --user), as the merchant's app
would; open sessions get the same alerts live (docs/design.md, "Streams and events").
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from shopvoice_cli import demo_shop


def add_arguments(parser: argparse.ArgumentParser, gateway_default: str) -> None:
    parser.add_argument(
        "--gateway", default=gateway_default, help="host:port (default SHOPVOICE_GATEWAY, else the local stack's)"
    )
    parser.add_argument("--merchant", default=demo_shop.MERCHANT_ID, help="for the development token")
    parser.add_argument("--user", default=demo_shop.OWNER, help="for the development token")
    parser.add_argument(
        "--role", default="owner", choices=("owner", "staff", "viewer"), help="of the development token"
    )
    parser.add_argument("--limit", type=int, default=20, help="at most this many (1-500, default 20)")
    parser.add_argument("--language", default="", help='of the messages: "zh-CN" or "en-US" (default)')
    parser.add_argument("--json", action="store_true", help="one JSON object per alert")


def as_json(alert: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    row: dict[str, Any] = MessageToDict(alert, preserving_proto_field_name=True)
    return row


def run(args: argparse.Namespace, token: str) -> int:
    import grpc

    from shopvoice.gateway.v1 import gateway_pb2 as gw
    from shopvoice.gateway.v1 import gateway_pb2_grpc
    from shopvoice_cli.errors import CliError

    if not 1 <= args.limit <= 500:
        raise CliError(f"--limit must be 1-500, not {args.limit}", exit_code=2)
    with grpc.insecure_channel(args.gateway) as channel:
        reply = gateway_pb2_grpc.AssistantStub(channel).ListAlerts(
            gw.ListAlertsRequest(limit=args.limit, language=args.language),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=10,
        )
    for alert in reply.alerts:
        if args.json:
            print(json.dumps(as_json(alert), ensure_ascii=False), flush=True)
        else:
            when = alert.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
            print(f"{when} UTC  {alert.kind:<16} {alert.subject:<12} {alert.message}", flush=True)
    if not reply.alerts and not args.json:
        print("no alerts", flush=True)
    return 0
