"""The fault-injection suite as a test: `make test-faults` (pytest -m faults).

2,000 commands from four merchants through the gateway while services are
SIGKILLed, Postgres backends terminated and a private Redis restarted, and a hostile
caller makes forged internal calls, sends poison frames and floods one user's sessions
(at least 150 faults, each refused as it must be); then the ledger check of
bench/fault_injection.py: 0 lost, 0 duplicated."""

from __future__ import annotations

import os

import pytest

from bench.fault_injection import Settings, run

pytestmark = pytest.mark.faults


def test_nothing_lost_nothing_duplicated_under_faults(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(
        commands=int(os.environ.get("FAULTS_COMMANDS", Settings.commands)),
        min_faults=int(os.environ.get("FAULTS_MIN", Settings.min_faults)),
    )
    report = run(settings)
    with capsys.disabled():
        print("\n" + report.figures())
    assert report.lost == 0 and report.duplicated == 0
    assert report.faults >= settings.min_faults
    assert report.ok, report.problems[:20]
