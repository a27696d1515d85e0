"""The rules every workload follows, in every overlay, for every container.

Probes on grpc.health.v1 (native `grpc:` probes), requests and limits, a locked-down
securityContext, a writable /tmp on a read-only root, a ServiceAccount and a
PodDisruptionBudget of its own, a grace period above the service's own drain time, and
autoscaling where docs/design.md's load lands.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.deploy.manifests import (
    OVERLAYS,
    Manifests,
    containers,
    manifests,
    pod_spec,
    quantity,
    secret_example,
    selects,
)

GRPC_PORTS = {"gateway": 50051, "asr": 50052, "nlu": 50053, "catalog": 50054, "orders": 50055, "support": 50056}
CELERY = {"worker", "worker-beat"}
GPU_BACKENDS = {"riva": "grpc", "vllm": "http"}
# The model servers that speak HTTP, and the path their probes ask. The llama.cpp server has
# no /health, and /v1/models waits behind the completion being generated (see llm.yaml).
HTTP_PROBE_PATHS = {"vllm": "/health", "llm": "/openapi.json"}
# llama-cpp-python's server exports no Prometheus metrics.
UNSCRAPED = {"llm"}
# worker-beat has no probe on purpose: beat has no remote-control endpoint to ask (see worker.yaml).
UNPROBED = {"worker-beat"}
PRESTOP_SLEEP_S = 5


def _deployments() -> list[tuple[str, str]]:
    return [(o, d["metadata"]["name"]) for o in OVERLAYS for d in manifests(o).of_kind("Deployment")]


DEPLOYMENTS = _deployments()
IDS = [f"{o}-{d}" for o, d in DEPLOYMENTS]


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> Manifests:
    return manifests(request.param)


def test_each_overlay_deploys_every_service() -> None:
    for o in OVERLAYS:
        assert {*GRPC_PORTS, *CELERY} <= manifests(o).names("Deployment")
    assert not {"riva", "vllm"} & manifests("cpu").names("Deployment")
    assert "llm" in manifests("cpu").names("Deployment")
    assert {"riva", "vllm"} <= manifests("gpu").names("Deployment")
    assert "llm" not in manifests("gpu").names("Deployment")


@pytest.mark.parametrize(("overlay_name", "name"), DEPLOYMENTS, ids=IDS)
class TestEveryDeployment:
    def test_every_container_has_requests_and_limits(self, overlay_name: str, name: str) -> None:
        for c in containers(manifests(overlay_name).get("Deployment", name)):
            res = c["resources"]
            for kind in ("cpu", "memory"):
                request, limit = quantity(res["requests"][kind]), quantity(res["limits"][kind])
                assert 0 < request <= limit, f"{name}/{c['name']}: {kind} request {request} > limit {limit}"

    def test_every_container_is_locked_down(self, overlay_name: str, name: str) -> None:
        deployment = manifests(overlay_name).get("Deployment", name)
        pod = pod_spec(deployment)["securityContext"]
        assert pod["runAsNonRoot"] is True
        assert pod["runAsUser"] != 0
        assert pod["seccompProfile"]["type"] == "RuntimeDefault"
        for c in containers(deployment):
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc.get("privileged", False) is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert not sc["capabilities"].get("add")
            assert sc["seccompProfile"]["type"] == "RuntimeDefault"

    def test_tmp_is_a_writable_emptydir_on_the_read_only_root(self, overlay_name: str, name: str) -> None:
        spec = pod_spec(manifests(overlay_name).get("Deployment", name))
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in containers(manifests(overlay_name).get("Deployment", name)):
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert "/tmp" in mounts, f"{name}/{c['name']} has no /tmp"
            tmp = volumes[mounts["/tmp"]]
            assert "emptyDir" in tmp and tmp["emptyDir"].get("sizeLimit"), "an emptyDir with a sizeLimit"

    def test_images_are_pinned(self, overlay_name: str, name: str) -> None:
        for c in containers(manifests(overlay_name).get("Deployment", name)):
            image = c["image"]
            assert re.search(r":[\w][\w.-]*$|@sha256:[0-9a-f]{64}$", image), f"{image} has no tag"
            assert not image.endswith(":latest")
            assert c.get("imagePullPolicy") == "IfNotPresent"

    def test_has_its_own_service_account_without_a_token(self, overlay_name: str, name: str) -> None:
        m = manifests(overlay_name)
        spec = pod_spec(m.get("Deployment", name))
        account = spec["serviceAccountName"]
        assert account not in ("", "default")
        assert m.get("ServiceAccount", account)["automountServiceAccountToken"] is False
        assert spec["automountServiceAccountToken"] is False
        users = [d["metadata"]["name"] for d in m.of_kind("Deployment") if pod_spec(d)["serviceAccountName"] == account]
        assert users == [name], f"ServiceAccount {account} shared by {users}"

    def test_has_a_pod_disruption_budget(self, overlay_name: str, name: str) -> None:
        m = manifests(overlay_name)
        labels = m.get("Deployment", name)["spec"]["template"]["metadata"]["labels"]
        budgets = [p for p in m.of_kind("PodDisruptionBudget") if selects(p["spec"]["selector"], labels)]
        assert len(budgets) == 1, f"{name}: {len(budgets)} PodDisruptionBudgets"
        # maxUnavailable, never minAvailable == replicas: a single replica must still drain.
        assert budgets[0]["spec"].get("maxUnavailable") == 1

    def test_probes(self, overlay_name: str, name: str) -> None:
        c = pod_spec(manifests(overlay_name).get("Deployment", name))["containers"][0]
        if name in UNPROBED:
            assert "livenessProbe" not in c and "readinessProbe" not in c
            return
        if name in GRPC_PORTS or GPU_BACKENDS.get(name) == "grpc":
            grpc_port = next(p["containerPort"] for p in c["ports"] if p["name"] == "grpc")
            if name in GRPC_PORTS:
                assert grpc_port == GRPC_PORTS[name]
                assert {"name": "PORT", "value": str(grpc_port)} in c["env"]
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                # Native gRPC probe: grpc.health.v1.Health/Check, overall status (service "").
                assert c[probe]["grpc"]["port"] == grpc_port, f"{name} {probe}"
                assert not c[probe]["grpc"].get("service")
        elif name in HTTP_PROBE_PATHS:
            http_port = next(p["containerPort"] for p in c["ports"] if p["name"] == "http")
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert c[probe]["httpGet"]["path"] == HTTP_PROBE_PATHS[name], f"{name} {probe}"
                assert c[probe]["httpGet"]["port"] in ("http", http_port)
        else:
            assert name == "worker"
            command = " ".join(c["livenessProbe"]["exec"]["command"])
            assert "celery -A services.worker.app inspect ping" in command
            assert "celery@${HOSTNAME}" in command, "pings its own node only"

    def test_grace_period_outlasts_the_drain(self, overlay_name: str, name: str) -> None:
        m = manifests(overlay_name)
        spec = pod_spec(m.get("Deployment", name))
        grace = spec["terminationGracePeriodSeconds"]
        if name in GRPC_PORTS:
            drain = float(m.container_env(name)["SHUTDOWN_GRACE_S"])
            c = spec["containers"][0]
            assert c["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", str(PRESTOP_SLEEP_S)]
            assert grace > PRESTOP_SLEEP_S + drain
        else:
            assert grace >= 30

    def test_metrics_are_scraped(self, overlay_name: str, name: str) -> None:
        m = manifests(overlay_name)
        template = m.get("Deployment", name)["spec"]["template"]
        if name in CELERY or name in UNSCRAPED:
            assert "prometheus.io/scrape" not in template["metadata"].get("annotations", {})
            return
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        ports = {p["containerPort"] for p in template["spec"]["containers"][0]["ports"]}
        assert int(annotations["prometheus.io/port"]) in ports
        if name in GRPC_PORTS:
            assert annotations["prometheus.io/port"] == m.container_env(name)["METRICS_PORT"] == "9090"

    def test_secrets_are_referenced_from_the_documented_example(self, overlay_name: str, name: str) -> None:
        example = secret_example()
        for c in containers(manifests(overlay_name).get("Deployment", name)):
            for var in c.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in example.get(ref["name"], {}), f"{ref} not in secrets.example.yaml"


def test_no_secret_values_in_the_manifests(overlay: Manifests) -> None:
    assert not overlay.of_kind("Secret"), "Secrets come from outside (see deploy/k8s/secrets/)"


def test_the_secret_example_holds_only_placeholders() -> None:
    text = secret_example()
    assert text
    for name, data in text.items():
        for key, value in data.items():
            if key != "address":
                assert "CHANGE_ME" in value, f"{name}/{key} must be a placeholder"


def test_each_service_gets_the_environment_it_reads(overlay: Manifests) -> None:
    need = {
        "gateway": {"REDIS_URL", "AUTH_KEYS", "ASR_ADDR", "SUPPORT_ADDR"},
        "asr": {"ASR_ENGINE", "REDIS_URL", "STREAM_PREFIX", "CATALOG_ADDR"},  # Redis: the catalog's events
        "nlu": {"REDIS_URL", "CATALOG_ADDR", "ORDERS_ADDR", "VLLM_URL", "VLLM_MODEL", "STREAM_PREFIX"},
        "catalog": {"DATABASE_URL", "REDIS_URL", "CATALOG_MAX_PRICE"},
        "orders": {"DATABASE_URL", "REDIS_URL"},
        "support": {"DATABASE_URL", "CATALOG_ADDR", "ORDERS_ADDR", "VLLM_URL", "VLLM_MODEL"},
        "worker": {"REDIS_URL", "CATALOG_ADDR", "ORDERS_ADDR"},
        "worker-beat": {"REDIS_URL"},
    }
    common = {"HOST", "METRICS_PORT", "LOG_LEVEL", "SHUTDOWN_GRACE_S", "RPC_TIMEOUT_S"}
    for name, variables in need.items():
        env = overlay.container_env(name)
        assert variables | common <= set(env), f"{name} lacks {(variables | common) - set(env)}"
        assert env["HOST"] == "0.0.0.0"
    # Each database role is its own: catalog, orders and support never share credentials.
    urls = [overlay.container_env(s)["DATABASE_URL"] for s in ("catalog", "orders", "support")]
    assert len(set(urls)) == 3
    assert "DATABASE_URL" not in overlay.container_env("asr")


def test_addresses_point_at_real_services(overlay: Manifests) -> None:
    env = overlay.container_env("gateway")
    for var in ("ASR_ADDR", "CATALOG_ADDR", "ORDERS_ADDR", "SUPPORT_ADDR"):
        host, port = env[var].split(":")
        service = overlay.get("Service", host)
        assert int(port) in {p["port"] for p in service["spec"]["ports"]}, var


def test_services_route_to_named_container_ports(overlay: Manifests) -> None:
    for service in overlay.of_kind("Service"):
        if service["spec"].get("type") == "ExternalName":
            continue
        selector = service["spec"]["selector"]
        targets = [
            d
            for d in overlay.of_kind("Deployment")
            if selects({"matchLabels": selector}, d["spec"]["template"]["metadata"]["labels"])
        ]
        assert len(targets) == 1, service["metadata"]["name"]
        names = {p["name"] for p in pod_spec(targets[0])["containers"][0]["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in names


def test_only_the_gateway_is_exposed_outside(overlay: Manifests) -> None:
    exposed = [s for s in overlay.of_kind("Service") if s["spec"].get("type") in ("LoadBalancer", "NodePort")]
    assert [s["spec"]["selector"]["app.kubernetes.io/name"] for s in exposed] == ["gateway"]


def test_datastores_are_external_services(overlay: Manifests) -> None:
    for name in ("postgres", "redis"):
        assert overlay.get("Service", name)["spec"]["type"] == "ExternalName"
    assert not {"postgres", "redis"} & overlay.names("Deployment")
    assert not overlay.of_kind("StatefulSet")


def test_the_namespace_enforces_the_restricted_pod_security_standard(overlay: Manifests) -> None:
    labels = overlay.get("Namespace", "shopvoice")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_cpu_bound_services_scale_on_cpu(overlay: Manifests) -> None:
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in overlay.of_kind("HorizontalPodAutoscaler")}
    assert set(hpas) == {"gateway", "catalog", "orders", "support"}
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        [metric] = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"]["type"] == "Utilization"
        # The autoscaler owns the replica count; a `replicas` in the Deployment would fight it.
        assert "replicas" not in overlay.get("Deployment", name)["spec"]


def test_nlu_scales_on_its_consumer_group_lag(overlay: Manifests) -> None:
    [scaled] = overlay.of_kind("ScaledObject")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == "nlu"
    assert scaled["spec"]["minReplicaCount"] >= 1, "the NLU is on the request path: never scale to zero"
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis-streams"
    prefix = overlay.container_env("nlu")["STREAM_PREFIX"]
    assert trigger["metadata"]["stream"] == f"{prefix}:transcripts" == "sv:transcripts"
    assert trigger["metadata"]["consumerGroup"] == "nlu"
    assert int(trigger["metadata"]["lagCount"]) > 0
    assert "replicas" not in overlay.get("Deployment", "nlu")["spec"]
    auth = overlay.get("TriggerAuthentication", trigger["authenticationRef"]["name"])
    example = secret_example()
    for ref in auth["spec"]["secretTargetRef"]:
        assert ref["key"] in example[ref["name"]]


def test_beat_is_a_singleton(overlay: Manifests) -> None:
    beat = overlay.get("Deployment", "worker-beat")["spec"]
    assert beat["replicas"] == 1
    assert beat["strategy"]["type"] == "Recreate"
    assert not [
        h for h in overlay.of_kind("HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == "worker-beat"
    ]


def test_cpu_overlay_runs_sphinx_and_the_llama_cpp_server_without_gpus() -> None:
    m = manifests("cpu")
    assert m.container_env("asr")["ASR_ENGINE"] == "sphinx"
    for d in m.of_kind("Deployment"):
        for c in containers(d):
            assert "nvidia.com/gpu" not in str(c["resources"])
        assert not pod_spec(d).get("tolerations")


def test_cpu_overlay_points_nlu_and_support_at_the_llama_cpp_server() -> None:
    m = manifests("cpu")
    llm = m.container_env("llm")
    port = int(llm["LLM_PORT"])
    for service in ("nlu", "support"):
        env = m.container_env(service)
        assert env["VLLM_URL"] == f"http://llm:{port}/v1", service
        assert env["VLLM_MODEL"] == llm["LLM_MODEL_ALIAS"], "the model name the server answers to"
    assert port in {p["port"] for p in m.get("Service", "llm")["spec"]["ports"]}
    assert llm["LLM_HOST"] == "0.0.0.0"
    [c] = list(containers(m.get("Deployment", "llm")))
    assert c["image"].startswith("shopvoice/llm:")
    # llama.cpp's default thread count is the node's CPU count: pin it to the pod's CPU limit,
    # whole CPUs and requests = limits (Guaranteed QoS: cores of its own under the static CPU
    # manager; its threads spin at barriers and stall when one is preempted).
    res = c["resources"]
    assert quantity(res["limits"]["cpu"]) == int(llm["LLM_THREADS"])
    assert res["requests"] == res["limits"]
    # Sized from the measured RSS (docs/models.md): ~2.1 GiB with the mmapped weights.
    assert quantity(res["requests"]["memory"]) >= Decimal(2.5 * 1024**3)
    assert "LLM_MODEL_PATH" not in llm, "the image's pinned weights, verified at start"


def test_gpu_overlay_forwards_asr_to_riva_and_nlu_to_vllm() -> None:
    m = manifests("gpu")
    asr, nlu = m.container_env("asr"), m.container_env("nlu")
    assert asr["ASR_ENGINE"] == "riva"
    host, port = asr["RIVA_URL"].split(":")
    assert host == "riva" and int(port) in {p["port"] for p in m.get("Service", "riva")["spec"]["ports"]}
    assert nlu["VLLM_URL"] == "http://vllm:8000/v1"
    vllm = pod_spec(m.get("Deployment", "vllm"))["containers"][0]
    assert f"--served-model-name={nlu['VLLM_MODEL']}" in vllm["args"]
    assert "--port=8000" in vllm["args"]
    assert vllm["image"].startswith("vllm/vllm-openai:")
    riva = pod_spec(m.get("Deployment", "riva"))["containers"][0]
    assert riva["image"].startswith("nvcr.io/nvidia/riva/riva-speech:")


@pytest.mark.parametrize("name", sorted(GPU_BACKENDS))
def test_gpu_backends_request_a_gpu_on_gpu_nodes(name: str) -> None:
    deployment = manifests("gpu").get("Deployment", name)
    spec = pod_spec(deployment)
    c = spec["containers"][0]
    assert c["resources"]["requests"]["nvidia.com/gpu"] == c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    # One GPU each and a ReadWriteOnce model volume: a rolling update could never schedule.
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    assert spec["volumes"][0]["persistentVolumeClaim"]["claimName"] in manifests("gpu").names("PersistentVolumeClaim")
    shm = next(v for v in spec["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["medium"] == "Memory"
