#!/usr/bin/env bash
# Build every shopvoice image from deploy/docker/Dockerfile, tagged with the git sha. The images
# install requirements-runtime.lock (the asr image requirements-asr.lock) with --require-hashes:
# the versions CI tested. `make lock` regenerates those with requirements.lock.
#
#   scripts/build_images.sh                       # build all, REGISTRY=shopvoice (local names)
#   REGISTRY=ghcr.io/acme PUSH=1 scripts/build_images.sh
#   scripts/build_images.sh gateway asr           # only these
#
# Environment: REGISTRY (image name prefix), TAG (default: short git sha, "-dirty" when the
# tree has uncommitted changes), ENGINE (docker or podman; default: whichever is found),
# PUSH=1 to push, PLATFORM (e.g. linux/amd64), PYTHON_IMAGE (override the pinned base).
# Image names are ${REGISTRY}/shopvoice-<service>:${TAG}; the kustomize base refers to
# shopvoice/<service>, so point an overlay at your images with `kustomize edit set image`
# (the script prints the lines at the end).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SERVICES=(gateway asr nlu catalog orders support worker llm)
if [[ $# -gt 0 ]]; then
  for s in "$@"; do
    [[ " ${SERVICES[*]} " == *" $s "* ]] || { echo "unknown service: $s (one of: ${SERVICES[*]})" >&2; exit 2; }
  done
  SERVICES=("$@")
fi

ENGINE="${ENGINE:-}"
if [[ -z "$ENGINE" ]]; then
  if command -v docker >/dev/null 2>&1; then ENGINE=docker
  elif command -v podman >/dev/null 2>&1; then ENGINE=podman
  else echo "neither docker nor podman found; install one or set ENGINE" >&2; exit 1
  fi
fi

REGISTRY="${REGISTRY:-shopvoice}"
if [[ -z "${TAG:-}" ]]; then
  TAG="$(git rev-parse --short=12 HEAD)"
  if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then TAG="${TAG}-dirty"; fi
fi
REVISION="$(git rev-parse HEAD)"
CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

build_args=(--file deploy/docker/Dockerfile
  --label "org.opencontainers.image.revision=${REVISION}"
  --label "org.opencontainers.image.created=${CREATED}"
  --label "org.opencontainers.image.source=shopvoice")
[[ -n "${PLATFORM:-}" ]] && build_args+=(--platform "$PLATFORM")
[[ -n "${PYTHON_IMAGE:-}" ]] && build_args+=(--build-arg "PYTHON_IMAGE=${PYTHON_IMAGE}")

for svc in "${SERVICES[@]}"; do
  image="${REGISTRY}/shopvoice-${svc}:${TAG}"
  echo "==> ${image}"
  "$ENGINE" build "${build_args[@]}" --target "$svc" --tag "$image" .
  if [[ "${PUSH:-0}" == "1" ]]; then "$ENGINE" push "$image"; fi
done

echo
echo "Point an overlay at these images (run inside deploy/k8s/overlays/<name>):"
for svc in "${SERVICES[@]}"; do
  echo "  kustomize edit set image shopvoice/${svc}=${REGISTRY}/shopvoice-${svc}:${TAG}"
done
