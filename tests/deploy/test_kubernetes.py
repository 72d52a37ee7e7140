"""The Kubernetes manifests, as ``kubectl kustomize`` renders each overlay, wire the daemon correctly.

Schema validity is ``.ci/deploy-checks``' job (kubernetes-validate); these tests check what a schema
cannot: the pieces refer to each other (config map, secrets, claim, selectors), the pods stop within
the daemon's grace, and the config the manifests carry passes ``retrain-sentinel validate`` with the
secrets mounted where the config reads them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from retrain_sentinel.durations import parse_duration

from .configs import environment, localise
from .conftest import ROOT

KUSTOMIZE = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("single", "postgres-ha")
CLI = Path(sys.executable).parent / "retrain-sentinel"

Manifest = dict[str, Any]


def render(kubectl: str, overlay: Path) -> list[Manifest]:
    result = subprocess.run(
        [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def one(objects: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_spec(objects: list[Manifest]) -> Manifest:
    spec: Manifest = one(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


def containers(objects: list[Manifest]) -> list[Manifest]:
    spec = pod_spec(objects)
    return [*spec.get("initContainers", []), *spec["containers"]]


def daemon(objects: list[Manifest]) -> Manifest:
    (container,) = [c for c in pod_spec(objects)["containers"] if c["name"] == "sentinel"]
    found: Manifest = container
    return found


def volume(objects: list[Manifest], name: str) -> Manifest:
    (found,) = [v for v in pod_spec(objects)["volumes"] if v["name"] == name]
    result: Manifest = found
    return result


def mounted_at(objects: list[Manifest], container: Manifest, path: str) -> Manifest:
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == path]
    return volume(objects, mount["name"])


def config_text(objects: list[Manifest]) -> str:
    name = mounted_at(objects, daemon(objects), "/etc/retrain-sentinel")["configMap"]["name"]
    text: str = one(objects, "ConfigMap", name)["data"]["sentinel.yaml"]
    return text


def secret_value(objects: list[Manifest], name: str, key: str) -> str:
    value: str = one(objects, "Secret", name)["stringData"][key]
    return value


@pytest.fixture(scope="module")
def rendered(kubectl: str) -> dict[str, list[Manifest]]:
    return {overlay: render(kubectl, KUSTOMIZE / "overlays" / overlay) for overlay in OVERLAYS}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_map_name_carries_a_content_hash_the_deployment_uses(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = rendered[overlay]
    config_map = one(objects, "ConfigMap")
    name = config_map["metadata"]["name"]
    assert name.startswith("retrain-sentinel-config-") and len(name) > len("retrain-sentinel-config-")
    for container in containers(objects):
        assert mounted_at(objects, container, "/etc/retrain-sentinel")["configMap"]["name"] == name


def test_editing_the_config_renames_the_config_map_so_pods_roll(kubectl: str, tmp_path: Path) -> None:
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUSTOMIZE, copy)
    before = one(render(kubectl, copy / "overlays" / "single"), "ConfigMap")["metadata"]["name"]
    config = copy / "base" / "sentinel.yaml"
    config.write_text(config.read_text().replace("retention: {days: 90}", "retention: {days: 30}"))

    after = render(kubectl, copy / "overlays" / "single")

    renamed = one(after, "ConfigMap")["metadata"]["name"]
    assert renamed != before
    assert mounted_at(after, daemon(after), "/etc/retrain-sentinel")["configMap"]["name"] == renamed


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_ask_healthz_for_liveness_and_readyz_for_readiness(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    container = daemon(rendered[overlay])
    assert {"name": "http", "containerPort": 9733, "protocol": "TCP"} in container["ports"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert yaml.safe_load(env["RETRAIN_SENTINEL_HTTP"]) == {"host": "0.0.0.0", "port": 9733}  # noqa: S104 - the pod must listen on its IP


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_get_longer_to_stop_than_the_daemons_shutdown_grace(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = rendered[overlay]
    service = yaml.safe_load(config_text(objects)).get("service", {})
    grace = parse_duration(service.get("shutdown_grace", "20s"))
    assert grace is not None
    assert pod_spec(objects)["terminationGracePeriodSeconds"] > grace.total_seconds()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_as_non_root_on_a_read_only_root_without_capabilities(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = rendered[overlay]
    pod = pod_spec(objects)["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] == 10001
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in containers(objects):
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"]["drop"] == ["ALL"]
        assert "emptyDir" in mounted_at(objects, container, "/tmp")
        assert {"requests", "limits"} <= set(container["resources"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_init_container_upgrades_the_same_database_the_daemon_uses(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = rendered[overlay]
    (init,) = pod_spec(objects)["initContainers"]
    assert init["args"] == ["db", "upgrade"]
    assert init["image"] == daemon(objects)["image"]

    def database(container: Manifest) -> list[Manifest]:
        return [e for e in container.get("env", []) if e["name"] == "RETRAIN_SENTINEL_DATABASE"]

    assert database(init) == database(daemon(objects))
    for path in ("/etc/retrain-sentinel", "/var/lib/retrain-sentinel", "/run/secrets/retrain-sentinel"):
        assert mounted_at(objects, init, path) == mounted_at(objects, daemon(objects), path)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_metrics_service_selects_the_pods_and_is_scraped(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = rendered[overlay]
    service = one(objects, "Service")
    labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert service["metadata"]["annotations"]["prometheus.io/port"] == "9733"
    assert service["spec"]["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_account_mounts_no_api_token(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    objects = rendered[overlay]
    account = one(objects, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert pod_spec(objects)["serviceAccountName"] == account["metadata"]["name"]


def test_single_keeps_sqlite_on_a_claim_and_never_runs_two_pods(rendered: dict[str, list[Manifest]]) -> None:
    objects = rendered["single"]
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    state = mounted_at(objects, daemon(objects), "/var/lib/retrain-sentinel")
    assert set(state) == {"name", "persistentVolumeClaim"}
    claim = one(objects, "PersistentVolumeClaim", state["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    database = yaml.safe_load(config_text(objects))["database"]
    assert database == "sqlite:////var/lib/retrain-sentinel/sentinel.db"


def test_postgres_ha_runs_two_ready_replicas_under_a_disruption_budget(
    rendered: dict[str, list[Manifest]],
) -> None:
    objects = rendered["postgres-ha"]
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    budget = one(objects, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for container in containers(objects):
        (database,) = [e for e in container["env"] if e["name"] == "RETRAIN_SENTINEL_DATABASE"]
        reference = database["valueFrom"]["secretKeyRef"]
        assert secret_value(objects, reference["name"], reference["key"]).startswith("postgresql+psycopg://")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_shipped_config_validates_with_the_secrets_mounted_where_it_reads_them(
    rendered: dict[str, list[Manifest]], overlay: str, tmp_path: Path
) -> None:
    objects = rendered[overlay]
    container = daemon(objects)
    mount = "/run/secrets/retrain-sentinel"
    secret_name = mounted_at(objects, container, mount)["secret"]["secretName"]

    def mounted_content(_key: str, path: str) -> str:
        assert path.startswith(mount + "/"), f"{path} is not under the Secret's mount {mount}"
        return secret_value(objects, secret_name, path.removeprefix(mount + "/"))

    config, variables = localise(config_text(objects), tmp_path, mounted_content)
    assert variables == {}, "the manifests' config reads secrets from files, not variables"
    env = environment(os.environ)
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            reference = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secret_value(objects, reference["name"], reference["key"])

    result = subprocess.run(
        [str(CLI), "validate", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
