"""Who may talk to whom, decided by evaluating the rendered NetworkPolicies.

A small model of NetworkPolicy semantics (pod and namespace selectors, ports, policy
types; no ipBlock, which these manifests do not use) answers "may A reach B on port P?",
and the expected matrix of docs/design.md's data flow is checked against it, both ways.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.deploy.manifests import OVERLAYS, Manifests, manifests, selects

NAMESPACE_LABELS = {"kubernetes.io/metadata.name": "shopvoice"}
MONITORING = {"kubernetes.io/metadata.name": "monitoring"}


@dataclass(frozen=True)
class Peer:
    """A pod of ours (its labels), a pod in another namespace, or somewhere outside the cluster."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    namespace: dict[str, str] | None = None  # None: not a pod (the internet, a managed database)

    @property
    def in_our_namespace(self) -> bool:
        return self.namespace == NAMESPACE_LABELS


def _peer_matches(rule_peers: list[dict[str, Any]] | None, peer: Peer) -> bool:
    if not rule_peers:
        return True  # no `from`/`to`: every source or destination
    for p in rule_peers:
        assert "ipBlock" not in p, "extend this model before using ipBlock"
        if peer.namespace is None:
            continue
        ns_ok = selects(p["namespaceSelector"], peer.namespace) if "namespaceSelector" in p else peer.in_our_namespace
        pod_ok = selects(p["podSelector"], peer.labels) if "podSelector" in p else True
        if ns_ok and pod_ok:
            return True
    return False


def _port_matches(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    return any(p["port"] == port and p.get("protocol", "TCP") == protocol for p in ports)


def _allowed(m: Manifests, direction: str, subject: Peer, other: Peer, port: int, protocol: str = "TCP") -> bool:
    """May traffic leave (Egress) or enter (Ingress) our pod `subject` to/from `other`?"""
    kind, key, peers_key = ("Ingress", "ingress", "from") if direction == "Ingress" else ("Egress", "egress", "to")
    policies = [
        p
        for p in m.of_kind("NetworkPolicy")
        if kind in p["spec"].get("policyTypes", ["Ingress"]) and selects(p["spec"]["podSelector"], subject.labels)
    ]
    if not policies:
        return True
    return any(
        _port_matches(rule.get("ports"), port, protocol) and _peer_matches(rule.get(peers_key), other)
        for p in policies
        for rule in p["spec"].get(key) or []
    )


def reaches(m: Manifests, src: Peer, dst: Peer, port: int, protocol: str = "TCP") -> bool:
    """Both ends agree: the source's egress and, for one of our pods, the destination's ingress."""
    out = src.namespace is None or not src.in_our_namespace or _allowed(m, "Egress", src, dst, port, protocol)
    into = dst.namespace is None or not dst.in_our_namespace or _allowed(m, "Ingress", dst, src, port, protocol)
    return out and into


def pods(m: Manifests) -> dict[str, Peer]:
    return {
        d["metadata"]["name"]: Peer(
            d["metadata"]["name"], d["spec"]["template"]["metadata"]["labels"], NAMESPACE_LABELS
        )
        for d in m.of_kind("Deployment")
    }


INTERNET = Peer("internet")
DATABASE = Peer("managed-postgres")  # outside the cluster, by default
PROMETHEUS = Peer("prometheus", {"app.kubernetes.io/name": "prometheus"}, MONITORING)
SERVICE_PORTS = {
    "gateway": 50051,
    "asr": 50052,
    "nlu": 50053,
    "catalog": 50054,
    "orders": 50055,
    "support": 50056,
    "riva": 50051,
    "vllm": 8000,
    "llm": 8000,
}
# (source, destination): the only pod-to-pod calls there are.
CALLS = {
    ("gateway", "asr"),
    ("gateway", "support"),
    ("asr", "catalog"),  # GetVocabulary: the merchant's product words for the grammar
    ("asr", "orders"),  # GetOrderVocabulary: the last order number bounds the numbers heard
    ("nlu", "catalog"),
    ("nlu", "orders"),
    ("worker", "catalog"),
    ("worker", "orders"),
    ("support", "catalog"),
    ("support", "orders"),
}
GPU_CALLS = {("asr", "riva"), ("nlu", "vllm"), ("support", "vllm")}
CPU_CALLS = {("nlu", "llm"), ("support", "llm")}


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> Manifests:
    return manifests(request.param)


def test_everything_is_denied_unless_allowed(overlay: Manifests) -> None:
    default = overlay.get("NetworkPolicy", "default-deny")["spec"]
    assert default["podSelector"] == {}
    assert set(default["policyTypes"]) == {"Ingress", "Egress"}
    assert not default.get("ingress") and not default.get("egress")


def test_only_the_gateway_is_reachable_from_outside(overlay: Manifests) -> None:
    ours = pods(overlay)
    for name, pod in ours.items():
        for port in {SERVICE_PORTS.get(name, 50051), 9090, 8000, 8002}:
            expected = name == "gateway" and port == 50051
            assert reaches(overlay, INTERNET, pod, port) is expected, f"internet -> {name}:{port}"


def test_pod_to_pod_traffic_is_exactly_the_data_flow(overlay: Manifests) -> None:
    ours = pods(overlay)
    calls = CALLS | (GPU_CALLS if overlay.overlay == "gpu" else CPU_CALLS)
    for src in ours:
        for dst, dst_pod in ours.items():
            if src == dst or dst not in SERVICE_PORTS:
                continue
            # The gateway is the public API: open to every caller, in the cluster or not.
            expected = (src, dst) in calls or dst == "gateway"
            assert reaches(overlay, ours[src], dst_pod, SERVICE_PORTS[dst]) is expected, f"{src} -> {dst}"


def test_catalog_and_orders_do_not_call_each_other(overlay: Manifests) -> None:
    ours = pods(overlay)
    assert not reaches(overlay, ours["orders"], ours["catalog"], 50054)
    assert not reaches(overlay, ours["catalog"], ours["orders"], 50055)


def test_every_pod_reaches_dns_postgres_and_redis(overlay: Manifests) -> None:
    for name, pod in pods(overlay).items():
        assert reaches(overlay, pod, DATABASE, 5432), f"{name} -> postgres"
        assert reaches(overlay, pod, DATABASE, 6379), f"{name} -> redis"
        assert reaches(
            overlay,
            pod,
            Peer("kube-dns", {"k8s-app": "kube-dns"}, {"kubernetes.io/metadata.name": "kube-system"}),
            53,
            "UDP",
        ), name


def test_nothing_else_leaves_the_cluster_but_the_model_download(overlay: Manifests) -> None:
    for name, pod in pods(overlay).items():
        assert reaches(overlay, pod, INTERNET, 443) is (name == "vllm"), f"{name} -> internet:443"
        assert not reaches(overlay, pod, INTERNET, 80), f"{name} -> internet:80"


def test_prometheus_scrapes_every_metrics_port(overlay: Manifests) -> None:
    for name, pod in pods(overlay).items():
        annotations = overlay.get("Deployment", name)["spec"]["template"]["metadata"].get("annotations", {})
        if "prometheus.io/port" in annotations:
            port = int(annotations["prometheus.io/port"])
            assert reaches(overlay, PROMETHEUS, pod, port), f"prometheus -> {name}:{port}"
    # ...and nothing more than the metrics port of a service.
    assert not reaches(overlay, PROMETHEUS, pods(overlay)["catalog"], 50054)
