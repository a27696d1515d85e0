"""Every address a service requires (a *_ADDR without a default: it fails at start when
missing) is set in every overlay, and points at a Service on a port that Service has."""

from __future__ import annotations

import pytest
from pydantic_settings import BaseSettings

from services.asr.config import AsrSettings
from services.catalog.config import CatalogSettings
from services.gateway.config import GatewaySettings
from services.nlu.config import NluSettings
from services.orders.config import OrdersSettings
from services.support.config import SupportSettings
from services.worker.config import WorkerSettings
from tests.deploy.manifests import OVERLAYS, Manifests, manifests

# Each Deployment and the settings its process reads at start (beat imports the worker's app too).
SETTINGS: dict[str, type[BaseSettings]] = {
    "gateway": GatewaySettings,
    "asr": AsrSettings,
    "nlu": NluSettings,
    "catalog": CatalogSettings,
    "orders": OrdersSettings,
    "support": SupportSettings,
    "worker": WorkerSettings,
    "worker-beat": WorkerSettings,
}


def required_addresses(settings: type[BaseSettings]) -> set[str]:
    return {
        str(field.alias)
        for field in settings.model_fields.values()
        if field.alias and field.alias.endswith("_ADDR") and field.is_required()
    }


def test_the_services_that_call_others_require_their_addresses() -> None:
    assert required_addresses(NluSettings) == {"CATALOG_ADDR", "ORDERS_ADDR"}
    assert required_addresses(SupportSettings) == {"CATALOG_ADDR", "ORDERS_ADDR"}
    assert required_addresses(WorkerSettings) == {"CATALOG_ADDR", "ORDERS_ADDR"}
    assert required_addresses(GatewaySettings) == {"ASR_ADDR", "SUPPORT_ADDR"}


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> Manifests:
    return manifests(request.param)


def test_every_deployment_sets_every_address_its_service_requires(overlay: Manifests) -> None:
    deployments = {d["metadata"]["name"] for d in overlay.of_kind("Deployment")}
    assert set(SETTINGS) <= deployments, f"no settings named for {set(SETTINGS) - deployments}"
    for name, settings in SETTINGS.items():
        env = overlay.container_env(name)
        for variable in required_addresses(settings):
            assert variable in env, f"{name} needs {variable}: without it the process does not start"
            if not env[variable]:  # empty: the feature is off (the gateway's voice or customer channel)
                continue
            host, port = env[variable].split(":")
            service = overlay.get("Service", host)
            assert int(port) in {p["port"] for p in service["spec"]["ports"]}, f"{name}: {variable}={env[variable]}"
