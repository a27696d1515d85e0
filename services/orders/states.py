"""The two state machines of an order, payment and fulfillment, and the rules
that tie them together.

Each operation checks everything first and raises FailedPrecondition with a
message a merchant can act on, and only then changes the order, so an illegal
transition changes nothing. The tables below are the whole truth about which
moves exist; the operations add the cross-field rules (no shipping an order
whose money was given back, no refund beyond what was paid).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from decimal import Decimal

from services.orders.model import Order
from shopvoice.errors import FailedPrecondition, InvalidArgument

PAYMENT: dict[str, frozenset[str]] = {
    "pending": frozenset({"paid", "voided"}),
    "paid": frozenset({"partially_refunded", "refunded"}),
    "partially_refunded": frozenset({"partially_refunded", "refunded"}),
    "refunded": frozenset(),
    "voided": frozenset(),
}

FULFILLMENT: dict[str, frozenset[str]] = {
    "unfulfilled": frozenset({"confirmed", "shipped", "cancelled"}),
    "confirmed": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset(),
    "cancelled": frozenset(),
}

# Payment states in which the merchant no longer holds the customer's money.
MONEY_RETURNED = frozenset({"refunded", "voided"})

CARRIERS = frozenset({"SF", "YTO", "ZTO", "STO", "YUNDA", "EMS", "JD", "UPS", "FEDEX", "DHL", "USPS"})


def _fulfillment(order: Order, target: str, verb: str) -> None:
    current = order.fulfillment_status
    if target not in FULFILLMENT[current]:
        hint = {
            "cancelled": "it was cancelled",
            "shipped": "it has already shipped",
            "delivered": "it has already been delivered",
        }.get(current, f"it is {current}")
        if current == target:
            hint = f"it is already {current}"
        raise FailedPrecondition(f"cannot {verb} order {order.order_id}: {hint}")


def _payment(order: Order, target: str) -> None:
    if target not in PAYMENT[order.payment_status]:  # pragma: no cover - the operations check first
        raise FailedPrecondition(f"order {order.order_id}: payment cannot go from {order.payment_status} to {target}")


def confirm(order: Order) -> None:
    _fulfillment(order, "confirmed", "confirm")
    if order.payment_status in MONEY_RETURNED:
        raise FailedPrecondition(f"cannot confirm order {order.order_id}: its payment was {order.payment_status}")
    order.fulfillment_status = "confirmed"


def ship(order: Order, carrier: str, tracking_number: str, at: datetime) -> None:
    if carrier and carrier not in CARRIERS:
        raise InvalidArgument(f"unknown carrier {carrier!r}; use one of {', '.join(sorted(CARRIERS))}")
    if len(tracking_number) > 64:
        raise InvalidArgument("tracking number is longer than 64 characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in tracking_number):
        raise InvalidArgument("tracking number contains control or invisible characters; remove them")
    _fulfillment(order, "shipped", "ship")
    if order.payment_status in MONEY_RETURNED:
        raise FailedPrecondition(f"cannot ship order {order.order_id}: its payment was {order.payment_status}")
    if order.reservation_status == "pending":
        raise FailedPrecondition(
            f"cannot ship order {order.order_id} yet: the stock reservation is still pending; try again shortly"
        )
    order.fulfillment_status = "shipped"
    order.carrier, order.tracking_number, order.shipped_at = carrier, tracking_number, at
    if order.reservation_status == "reserved":
        order.reservation_status = "committed"


def deliver(order: Order) -> None:
    _fulfillment(order, "delivered", "mark delivered")
    order.fulfillment_status = "delivered"


def cancel(order: Order, reason: str) -> Decimal:
    """Cancel and give the money back: voids an unpaid order, refunds what is left
    of a paid one. Returns the amount refunded (0 when nothing was paid)."""
    if order.fulfillment_status in ("shipped", "delivered"):
        raise FailedPrecondition(
            f"cannot cancel order {order.order_id}: it has already {order.fulfillment_status}; refund it instead"
        )
    _fulfillment(order, "cancelled", "cancel")
    refund = Decimal(0)
    if order.payment_status == "pending":
        _payment(order, "voided")
        order.payment_status = "voided"
    elif order.payment_status in ("paid", "partially_refunded"):
        refund = order.refundable
        _payment(order, "refunded")
        order.payment_status = "refunded"
        order.refunded = order.total
    order.fulfillment_status = "cancelled"
    order.cancel_reason = reason
    if order.reservation_status in ("pending", "reserved"):
        order.reservation_status = "released"
    return refund


def refund(order: Order, amount: Decimal | None) -> Decimal:
    """Refund `amount` (None: everything still refundable); returns the amount."""
    if order.payment_status == "pending":
        raise FailedPrecondition(f"cannot refund order {order.order_id}: nothing has been paid yet")
    if order.payment_status in MONEY_RETURNED:
        raise FailedPrecondition(
            f"cannot refund order {order.order_id}: its payment was already {order.payment_status}"
        )
    remaining = order.refundable
    value = remaining if amount is None else amount
    if value <= 0:
        raise InvalidArgument("refund amount must be greater than zero")
    if value > remaining:
        raise FailedPrecondition(
            f"cannot refund {value:f} {order.currency_code} on order {order.order_id}:"
            f" only {remaining:f} of the {order.total:f} paid is left to refund"
        )
    target = "refunded" if value == remaining else "partially_refunded"
    _payment(order, target)
    order.payment_status = target
    order.refunded += value
    return value


def rate(order: Order, rating: int, review: str) -> None:
    if not 1 <= rating <= 5:
        raise InvalidArgument("rating must be 1 to 5")
    if len(review) > 2000:
        raise InvalidArgument("review is longer than 2000 characters")
    if order.fulfillment_status not in ("shipped", "delivered"):
        raise FailedPrecondition(
            f"cannot rate order {order.order_id}: it is {order.fulfillment_status}; rate it once it has shipped"
        )
    order.rating = rating
    order.review = review


def reservation_accepted(order: Order) -> None:
    """The catalog holds the stock. Late news for a cancelled order changes nothing:
    the cancellation already asked the catalog to release it."""
    if order.reservation_status == "pending":
        order.reservation_status = "reserved"


def reservation_refused(order: Order, reason: str) -> Decimal | None:
    """Compensation: the order cannot be filled, so it is cancelled and its money
    returned. Returns the amount refunded, or None when there was nothing to undo."""
    if order.reservation_status != "pending":
        return None
    order.reservation_reason = reason
    if order.fulfillment_status in ("cancelled", "shipped", "delivered"):
        order.reservation_status = "refused"
        return None
    amount = cancel(order, f"stock reservation refused: {reason}" if reason else "stock reservation refused")
    order.reservation_status = "refused"
    return amount
