#!/usr/bin/env bash
# Regenerate requirements.lock: every dependency of pyproject.toml (with the dev extra),
# pinned to one version and its sha256 hashes. Run after changing pyproject's dependencies;
# tests/reliability/test_lock_file.py fails until the lock file matches again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
"$PY" -m piptools compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra dev \
  --no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml
# requirements-models.lock: what `make models` installs beside it (llama.cpp's server,
# faster-whisper), constrained by requirements.lock so a package both name is one version.
"$PY" -m piptools compile --quiet --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-index-url --no-emit-find-links --output-file requirements-models.lock requirements-models.in
