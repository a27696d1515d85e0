#!/usr/bin/env bash
# Regenerate the lock files from pyproject.toml, each pinned to one version per package with
# its sha256 hashes (installs use --require-hashes):
#   requirements.lock          everything: dependencies + the asr and dev extras + build backend.
#                              `make setup` (so `make demo`, `make test`, .ci/run) installs it.
#   requirements-runtime.lock  dependencies + build backend: every image but asr.
#   requirements-asr.lock      dependencies + the asr extra + build backend: the asr image.
# The two image locks are compiled under requirements.lock as a constraint, so a package has
# the same version in every file. Existing pins are kept; to move one, change its specifier in
# pyproject.toml, or name it: `make lock UPGRADE="grpcio grpcio-tools"`.
# tests/reliability/test_lock_file.py fails until the lock files match pyproject.toml again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"

upgrade=()
for name in ${UPGRADE:-}; do upgrade+=(--upgrade-package "$name"); done

compile() {
  # --all-build-deps pins setuptools (pyproject's build-system) too, so the project itself is
  # installed with --no-build-isolation from locked tools rather than whatever is newest.
  # --no-strip-extras keeps "cachecontrol[filecache]==0.14.4": pip's --require-hashes mode
  # otherwise resolves a dependency asked for with an extra (pip-audit's CacheControl[filecache])
  # apart from the pin, takes the newest release and refuses it as unpinned (it did on
  # 2026-12-07, once cachecontrol 0.15.0 was on the index).
  "$PY" -m piptools compile --quiet --generate-hashes --allow-unsafe --no-strip-extras --all-build-deps \
    --no-emit-index-url --no-emit-find-links "$@" pyproject.toml
}

compile --extra asr --extra dev "${upgrade[@]}" --output-file requirements.lock
compile --constraint requirements.lock --output-file requirements-runtime.lock
compile --constraint requirements.lock --extra asr --output-file requirements-asr.lock
# requirements-models.lock: what `make models` installs beside it (llama.cpp's server,
# faster-whisper), constrained by requirements.lock so a package both name is one version.
# Extras stripped here: install_model_packages.sh reads the "llama-cpp-python==" line itself.
"$PY" -m piptools compile --quiet --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-index-url --no-emit-find-links "${upgrade[@]}" \
  --output-file requirements-models.lock requirements-models.in
