"""The fault bench keeps its logs when the run fails, which it knows only at the end."""

from __future__ import annotations

import shutil

import pytest

from bench.fault_injection import run_directory


def test_a_passing_run_removes_its_logs() -> None:
    with run_directory(lambda: False) as directory:
        (directory / "nlu.log").write_text("ok\n")
    assert not directory.exists()


def test_a_report_that_fails_after_entry_keeps_the_logs(capsys: pytest.CaptureFixture[str]) -> None:
    failed = False
    with run_directory(lambda: failed) as directory:
        (directory / "nlu.log").write_text("1 not acknowledged\n")
        failed = True  # the ledger check, at the end of the run
    try:
        assert (directory / "nlu.log").read_text() == "1 not acknowledged\n"
        assert f"logs kept in {directory}" in capsys.readouterr().out
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_a_run_that_raises_keeps_the_logs() -> None:
    with pytest.raises(RuntimeError), run_directory(lambda: False) as directory:
        raise RuntimeError("the stack did not start")
    try:
        assert directory.exists()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
