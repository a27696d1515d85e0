#!/usr/bin/env bash
# `make models`, part one: what the model paths run on, installed into the venv from
# requirements-models.lock (pinned, with hashes; compiled against requirements.lock, so a
# package both locks name is the same version): llama.cpp's OpenAI-compatible server
# (llama-cpp-python[server]) and faster-whisper with CTranslate2.
#
# llama-cpp-python is on PyPI as source only and takes about 7 minutes of 2 cores to
# compile (longer on a busy machine). Its wheel is built once, from the sdist whose sha256
# the lock pins, into a cache outside the clone (SHOPVOICE_WHEELS_DIR, default
# ~/.cache/shopvoice/wheels) and installed from there by every later run and every clone.
# The wheel is built for x86-64 with AVX2/FMA/F16C (GGML_NATIVE=OFF), the same build as
# deploy/docker/Dockerfile's: llama.cpp's default, GGML_NATIVE, compiles for every feature the
# build machine has, and on a Xeon with AMX that build crashed in its first decode
# (SIGSEGV in llama_decode; the AMX tile kernels). CMAKE_ARGS overrides it; the cached wheel
# is kept per CMAKE_ARGS, so a different build is never taken for this one.
#
# Idempotent: a stamp in the venv names the lock and this script; a change to either
# reinstalls. Environment: VENV (default .venv), SHOPVOICE_WHEELS_DIR, CMAKE_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
LOCK=requirements-models.lock
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
export CMAKE_ARGS
WHEELS="${SHOPVOICE_WHEELS_DIR:-$HOME/.cache/shopvoice/wheels}/$(printf '%s' "$CMAKE_ARGS" | sha256sum | cut -c1-12)"
STAMP="$VENV/.models-$( (cat "$LOCK" "$0"; printf '%s' "$CMAKE_ARGS") | sha256sum | cut -c1-12)"

if [[ -f "$STAMP" ]]; then
  exit 0
fi

# pip, quietly: this machine's pip configuration names wheel folders that may be absent,
# and pip warns about each one for every package; those lines are dropped, errors are not.
pip_quiet() {
  "$PY" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# llama-cpp-python's version and sdist hash, as the lock pins them.
version="$(sed -n 's/^llama-cpp-python==\([^ ]*\).*/\1/p' "$LOCK")"
sdist_sha256="$(awk '/^llama-cpp-python==/ {inside=1; next}
  inside && /--hash=sha256:/ {sub(/.*--hash=sha256:/, ""); sub(/[ \\].*/, ""); print; exit}' "$LOCK")"
if [[ -z "$version" || -z "$sdist_sha256" ]]; then
  echo "install_model_packages: $LOCK pins no llama-cpp-python with a hash; run scripts/lock.sh" >&2
  exit 1
fi

mkdir -p "$WHEELS"
wheel="$(find "$WHEELS" -maxdepth 1 -name "llama_cpp_python-${version}-*.whl" | sort | head -n 1)"
if [[ -z "$wheel" ]]; then
  echo "install_model_packages: building llama-cpp-python ${version} from its pinned sdist (about 7 min on 2 cores)"
  start=$(date +%s)
  echo "llama-cpp-python==${version} --hash=sha256:${sdist_sha256}" >"$work/llama.txt"
  # --no-cache-dir: pip would otherwise reuse a wheel it built from the same sdist with other CMAKE_ARGS.
  pip_quiet wheel -q --no-cache-dir --no-deps --no-binary llama-cpp-python --require-hashes -r "$work/llama.txt" -w "$work/wheel"
  built="$(find "$work/wheel" -name "llama_cpp_python-${version}-*.whl" | head -n 1)"
  # Copied under a temporary name and renamed: a killed build never leaves half a wheel in the cache.
  cp "$built" "$WHEELS/.$(basename "$built").partial"
  mv "$WHEELS/.$(basename "$built").partial" "$WHEELS/$(basename "$built")"
  wheel="$WHEELS/$(basename "$built")"
  echo "install_model_packages: built $(basename "$wheel") in $(($(date +%s) - start)) s, kept in $WHEELS"
fi

# Everything else in the lock, hash-checked; then the wheel built from the pinned sdist.
awk '/^llama-cpp-python==/ {skip=1; next} skip && /^[ \t]/ {next} {skip=0; print}' "$LOCK" >"$work/rest.txt"
pip_quiet install -q --require-hashes --no-deps -r "$work/rest.txt"
# --force-reinstall: the same version built with other CMAKE_ARGS may be installed already.
pip_quiet install -q --no-deps --force-reinstall "$wheel"
"$PY" -m pip check >/dev/null 2>&1 || { "$PY" -m pip check; exit 1; }
"$PY" -c "import llama_cpp, llama_cpp.server.app, faster_whisper, ctranslate2; print('install_model_packages: llama-cpp-python', llama_cpp.__version__, '/ faster-whisper', faster_whisper.__version__, '/ ctranslate2', ctranslate2.__version__)"

rm -f "$VENV"/.models-*
touch "$STAMP"
