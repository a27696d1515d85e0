"""The order as the service reasons about it: plain dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass
class Line:
    """One line as bought: the title and unit price at purchase never change."""

    line_no: int
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    restocked: int = 0

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass
class Order:
    merchant_id: str
    order_id: int
    currency_code: str
    total: Decimal
    payment_status: str
    fulfillment_status: str
    reservation_status: str
    created_at: datetime
    lines: list[Line] = field(default_factory=list)
    customer_ref: str = ""
    refunded: Decimal = Decimal(0)
    reservation_reason: str = ""
    cancel_reason: str = ""
    carrier: str = ""
    tracking_number: str = ""
    shipped_at: datetime | None = None
    rating: int | None = None
    review: str = ""
    version: int = 1

    @property
    def refundable(self) -> Decimal:
        """What can still be refunded: what was paid, less what was refunded."""
        if self.payment_status not in ("paid", "partially_refunded"):
            return Decimal(0)
        return self.total - self.refunded

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)
