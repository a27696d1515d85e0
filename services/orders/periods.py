"""Report periods resolved in the merchant's time zone at the moment a report runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shopvoice.common.v1.command_pb2 import Period
from shopvoice.errors import InvalidArgument

NAMES = {
    Period.PERIOD_TODAY: "today",
    Period.PERIOD_YESTERDAY: "yesterday",
    Period.PERIOD_LAST_7_DAYS: "the last 7 days",
    Period.PERIOD_THIS_WEEK: "this week",
    Period.PERIOD_THIS_MONTH: "this month",
    Period.PERIOD_LAST_MONTH: "last month",
    Period.PERIOD_LAST_30_DAYS: "the last 30 days",
    Period.PERIOD_LAST_WEEK: "last week",
    Period.PERIOD_THIS_YEAR: "this year",
}


def zone(name: str) -> ZoneInfo:
    try:
        if len(name) > 64:  # longer than any IANA name (and than a file name may be)
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidArgument(f"unknown time zone {name[:80]!r}; use an IANA name such as Asia/Shanghai") from exc


def local_days(period: int, today: date) -> tuple[date, date]:
    """[first day, day after the last) of a period, in local dates."""
    if period == Period.PERIOD_TODAY:
        return today, today + timedelta(days=1)
    if period == Period.PERIOD_YESTERDAY:
        return today - timedelta(days=1), today
    if period == Period.PERIOD_LAST_7_DAYS:  # today and the six days before it
        return today - timedelta(days=6), today + timedelta(days=1)
    if period == Period.PERIOD_LAST_30_DAYS:  # today and the 29 days before it
        return today - timedelta(days=29), today + timedelta(days=1)
    if period == Period.PERIOD_THIS_WEEK:  # weeks start on Monday (ISO, and in China)
        monday = today - timedelta(days=today.weekday())
        return monday, monday + timedelta(days=7)
    if period == Period.PERIOD_LAST_WEEK:  # the Monday-to-Sunday week before this one
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(days=7), monday
    if period == Period.PERIOD_THIS_YEAR:
        return today.replace(month=1, day=1), today.replace(year=today.year + 1, month=1, day=1)
    first = today.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    if period == Period.PERIOD_THIS_MONTH:
        return first, next_month
    if period == Period.PERIOD_LAST_MONTH:
        return (first - timedelta(days=1)).replace(day=1), first
    raise InvalidArgument(
        "period is required: today, yesterday, last_7_days, last_30_days, this_week, last_week, this_month,"
        " last_month or this_year"
    )


def resolve(period: int, tz: ZoneInfo, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the period as UTC instants: local midnights in `tz`."""
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    first, after = local_days(period, today)
    return (
        datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC),
        datetime.combine(after, time(0), tzinfo=tz).astimezone(UTC),
    )
