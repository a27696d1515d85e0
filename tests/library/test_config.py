"""A missing or malformed variable stops a service at start, with a line that names it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shopvoice.config import ServiceAddresses, load


def test_a_missing_address_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CATALOG_ADDR", raising=False)
    monkeypatch.setenv("ORDERS_ADDR", "orders:50055")
    with pytest.raises(SystemExit) as stopped:
        load(ServiceAddresses)
    assert str(stopped.value.code) == "cannot start: CATALOG_ADDR is not set (catalog service, host:port)"


def test_an_empty_address_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_ADDR", "")
    monkeypatch.setenv("ORDERS_ADDR", "orders:50055")
    with pytest.raises(SystemExit, match="CATALOG_ADDR: String should have at least 1 character"):
        load(ServiceAddresses)


def test_set_addresses_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_ADDR", "catalog:50054")
    monkeypatch.setenv("ORDERS_ADDR", "orders:50055")
    assert load(ServiceAddresses).catalog_addr == "catalog:50054"


def test_a_service_without_its_addresses_exits_at_once_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_ADDR")}
    done = subprocess.run([sys.executable, "-m", "services.nlu"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "cannot start: CATALOG_ADDR is not set (catalog service, host:port);"
        " ORDERS_ADDR is not set (orders service, host:port)"
    )
