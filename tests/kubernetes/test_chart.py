"""The Helm chart rendered with ``helm template`` (no cluster): what the manager is given."""

import base64
import json
import subprocess
import tomllib
from typing import Any

import yaml

from tests.kubernetes.conftest import ROOT
from tests.kubernetes.test_helm import CHART, helm_binary


def render(*values: str) -> list[dict[str, Any]]:
    return render_with([], *values)


def render_with(options: list[str], *values: str) -> list[dict[str, Any]]:
    argv = [helm_binary(), "template", "r", str(CHART), "-n", "sluice", *options]
    for value in values:
        argv += ["--set", value]
    done = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def manager_env(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [deployment] = [o for o in objects if o["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_by_default_sqlite_on_the_pvc_and_a_seaweedfs_statefulset() -> None:
    objects = render()
    env = manager_env(objects)
    assert env["SLUICE_RUNTIME"] == "kubernetes" and env["SLUICE_DATA_DIR"] == "/data"
    assert "SLUICE_DATABASE_URL" not in env
    assert env["SLUICE_ADMIN_PASSWORD"]["secretKeyRef"]["key"] == "password"
    kinds = {o["kind"] for o in objects}
    assert {"PersistentVolumeClaim", "ServiceAccount", "ClusterRole", "RoleBinding"} <= kinds
    # The store: its StatefulSet, headless Service and Secret, the manager pointed at it.
    store = "r-sluice-seaweedfs"
    assert env["SLUICE_S3_ENDPOINT"] == f"http://{store}.sluice.svc:8333"
    assert env["SLUICE_JOB_S3_ENDPOINT"] == f"http://{store}.sluice.svc:8333"
    assert "SLUICE_S3_PORT" not in env
    for name, key in [
        ("SLUICE_S3_ACCESS_KEY", "access-key"),
        ("SLUICE_S3_SECRET_KEY", "secret-key"),
        ("SLUICE_STORE_WEBHOOK_TOKEN", "webhook-token"),
    ]:
        assert env[name]["secretKeyRef"] == {"name": store, "key": key}
    [statefulset] = by_kind(objects, "StatefulSet").values()
    assert statefulset["metadata"]["name"] == store and statefulset["spec"]["replicas"] == 1
    pod = statefulset["spec"]["template"]["spec"]
    [weed] = pod["containers"]
    assert weed["image"] == "localhost/sluice/sluice:latest" and weed["command"][:2] == [
        "weed",
        "server",
    ]
    assert {"-s3", "-filer", "-s3.ip.bind=0.0.0.0", "-ip.bind=127.0.0.1"} <= set(weed["command"])
    [claim] = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert "data" not in {volume["name"] for volume in pod["volumes"]}
    service = by_kind(objects, "Service")[store]
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == statefulset["spec"]["selector"]["matchLabels"]
    assert [port["port"] for port in service["spec"]["ports"]] == [8333]
    # The same keys in the store's identities and the filer's webhook to the manager.
    data = {
        k: base64.b64decode(v).decode()
        for k, v in by_kind(objects, "Secret")[store]["data"].items()
    }
    [identity] = json.loads(data["s3.json"])["identities"]
    assert identity["credentials"] == [
        {"accessKey": data["access-key"], "secretKey": data["secret-key"]}
    ]
    webhook = tomllib.loads(data["notification.toml"])["notification"]["webhook"]
    assert webhook["endpoint"] == "http://r-sluice.sluice.svc:8080/events/seaweedfs"
    assert webhook["bearer_token"] == data["webhook-token"] and webhook["enabled"]


def test_the_store_on_the_test_cluster_runs_on_the_nodes_network_with_an_emptydir() -> None:
    objects = render_with(["-f", str(CHART / "values-testbed.yaml")], "service.port=9080")
    env = manager_env(objects)
    assert env["SLUICE_S3_ENDPOINT"] == "http://127.0.0.1:8333"
    assert env["SLUICE_JOB_S3_ENDPOINT"] == "http://10.252.0.1:8333"
    [statefulset] = by_kind(objects, "StatefulSet").values()
    pod = statefulset["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and "volumeClaimTemplates" not in statefulset["spec"]
    assert {"name": "data", "emptyDir": {}} in pod["volumes"]
    assert "-s3.ip.bind=10.252.0.1" in pod["containers"][0]["command"]
    secret = by_kind(objects, "Secret")["r-sluice-seaweedfs"]
    toml = base64.b64decode(secret["data"]["notification.toml"]).decode()
    assert tomllib.loads(toml)["notification"]["webhook"]["endpoint"] == (
        "http://127.0.0.1:9080/events/seaweedfs"
    )


def test_the_embedded_store_renders_as_before() -> None:
    objects = render("objectStore.mode=embedded")
    env = manager_env(objects)
    assert "SLUICE_S3_ENDPOINT" not in env and "SLUICE_STORE_WEBHOOK_TOKEN" not in env
    assert env["SLUICE_S3_PORT"] == "8333"
    assert env["SLUICE_JOB_S3_ENDPOINT"] == "http://r-sluice.sluice.svc:8334"
    assert not by_kind(objects, "StatefulSet")
    assert set(by_kind(objects, "Secret")) == {"r-sluice-admin"}
    [service] = by_kind(objects, "Service").values()
    assert [port["port"] for port in service["spec"]["ports"]] == [8080, 8334]


def test_an_external_database_and_store_come_from_the_secret() -> None:
    url = "postgresql+psycopg://sluice:pw@db/sluice"
    objects = render(
        f"database.url={url}",
        "objectStore.mode=external",
        "objectStore.external.endpoint=https://s3.example",
        "objectStore.external.secretKey=k3y",
    )
    env = manager_env(objects)
    assert env["SLUICE_DATABASE_URL"]["secretKeyRef"]["key"] == "database-url"
    assert env["SLUICE_S3_ENDPOINT"] == "https://s3.example"
    assert "SLUICE_STORE_WEBHOOK_TOKEN" not in env and not by_kind(objects, "StatefulSet")
    [secret] = [o for o in objects if o["kind"] == "Secret"]
    others = [o for o in objects if o["kind"] != "Secret"]
    assert url not in yaml.safe_dump(others) and "k3y" not in yaml.safe_dump(others)
    assert set(secret["data"]) == {"password", "database-url", "s3-secret-key"}
