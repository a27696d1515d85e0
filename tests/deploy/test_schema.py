"""Every overlay builds, and every object it holds is valid Kubernetes, checked offline.

Built-in kinds are validated strictly (unknown fields are errors) with kubernetes-validate
against the oldest Kubernetes we support and the newest its schemas know. KEDA's custom
resources are not in those schemas, so they are checked structurally here instead.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.manifests import OVERLAYS, Manifests, manifests

# Native gRPC probes are GA since 1.27 and sidecar-free PSA "restricted" since 1.25; 1.30 is
# the oldest release still in the clouds' standard support windows.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())

# Kinds without a schema in kubernetes-validate: KEDA's CRDs, validated by the tests below.
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> Manifests:
    return manifests(request.param)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_builtin_object_matches_the_kubernetes_schema(overlay: Manifests, version: str) -> None:
    errors: list[str] = []
    checked = 0
    for obj in overlay.objects:
        if obj["kind"] in KEDA_KINDS:
            assert obj["apiVersion"] == "keda.sh/v1alpha1"
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
            checked += 1
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {e.message} at {list(e.path)}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{obj['kind']} ({obj['apiVersion']}): no schema for Kubernetes {version}")
    assert not errors, "\n".join(errors)
    assert checked > 30


def test_every_object_lives_in_the_shopvoice_namespace(overlay: Manifests) -> None:
    for obj in overlay.objects:
        if obj["kind"] == "Namespace":
            assert obj["metadata"]["name"] == "shopvoice"
        else:
            assert obj["metadata"].get("namespace") == "shopvoice", f"{obj['kind']}/{obj['metadata']['name']}"


def test_object_names_are_unique_per_kind(overlay: Manifests) -> None:
    seen = [(o["kind"], o["metadata"]["name"]) for o in overlay.objects]
    assert len(seen) == len(set(seen))


def _string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def test_scaled_objects_are_well_formed(overlay: Manifests) -> None:
    deployments = overlay.names("Deployment")
    auths = overlay.names("TriggerAuthentication")
    scaled = overlay.of_kind("ScaledObject")
    assert scaled
    for obj in scaled:
        spec = obj["spec"]
        assert set(spec) <= {
            "scaleTargetRef",
            "minReplicaCount",
            "maxReplicaCount",
            "pollingInterval",
            "cooldownPeriod",
            "idleReplicaCount",
            "fallback",
            "advanced",
            "triggers",
        }, f"unknown ScaledObject fields: {set(spec)}"
        assert spec["scaleTargetRef"]["name"] in deployments
        assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
        assert isinstance(spec["minReplicaCount"], int) and isinstance(spec["maxReplicaCount"], int)
        assert 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        assert spec["triggers"]
        for trigger in spec["triggers"]:
            assert isinstance(trigger["type"], str)
            # KEDA's trigger metadata is map[string]string: a bare number fails at admission.
            assert _string_map(trigger["metadata"]), trigger["metadata"]
            if "authenticationRef" in trigger:
                assert trigger["authenticationRef"]["name"] in auths


def test_trigger_authentications_are_well_formed(overlay: Manifests) -> None:
    for obj in overlay.of_kind("TriggerAuthentication"):
        refs = obj["spec"]["secretTargetRef"]
        assert refs
        for ref in refs:
            assert set(ref) == {"parameter", "name", "key"}
            assert all(isinstance(v, str) and v for v in ref.values())
