"""Facts: the only material an answer may be built from.

Every answer, template or LLM, is rendered from a list of named facts taken from
the merchant's data (an order, a variant, a policy, a ticket). The list travels
with the answer (Answer.facts_used) so a reviewer, the fact checker and the tests
can see what each claim rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from shopvoice.common.v1.money_pb2 import Money
from shopvoice.money import to_decimal
from shopvoice.support.v1 import support_pb2 as pb

# Dates a customer reads are in the shop's zone; one zone for now (the orders
# service's default), per-merchant zones when merchants have settings.
SHOP_ZONE = ZoneInfo("Asia/Shanghai")


def money_text(value: Money) -> str:
    amount = to_decimal(value).quantize(Decimal("0.01"))
    return f"{amount} {value.currency_code or 'CNY'}".strip()


def date_text(moment: datetime) -> str:
    return moment.astimezone(SHOP_ZONE).strftime("%Y-%m-%d")


@dataclass
class Facts:
    """Named values, in the order they were gathered; a name may repeat (one per variant)."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, value: str, keep_empty: bool = False) -> None:
        """Record a fact; per-variant facts keep empty values so their positions line up."""
        if value or keep_empty:
            self.items.append((name, value))

    def get(self, name: str, default: str = "") -> str:
        return next((v for n, v in self.items if n == name), default)

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.items if n == name]

    def text(self) -> str:
        """Every value, for the fact checker."""
        return "\n".join(v for _, v in self.items)

    def to_proto(self) -> list[pb.Fact]:
        return [pb.Fact(name=n, value=v) for n, v in self.items if v]
