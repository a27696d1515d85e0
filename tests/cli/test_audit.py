"""`shopvoice audit`: the times it takes, and one line for what it cannot use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopvoice_cli.audit import parse_time
from shopvoice_cli.errors import CliError
from tests.cli.test_errors import one_line, shopvoice

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12-01T08:00+08:00", datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_times_are_iso_or_a_span_back_from_now(text: str, expected: datetime) -> None:
    assert parse_time(text, NOW) == expected


def test_a_time_it_cannot_read_is_one_line_and_status_2() -> None:
    with pytest.raises(CliError):
        parse_time("yesterday-ish", NOW)
    done = shopvoice("audit", "--merchant", "m1", "--since", "yesterday-ish")
    assert done.returncode == 2
    assert "'yesterday-ish' is not a time" in one_line(done)


def test_the_merchant_is_required() -> None:
    done = shopvoice("audit")
    assert done.returncode == 2 and "--merchant" in done.stderr
