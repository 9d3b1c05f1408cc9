"""The Helm chart rendered with ``helm template`` (no cluster): what the manager is given."""

import subprocess
from typing import Any

import yaml

from tests.kubernetes.conftest import ROOT
from tests.kubernetes.test_helm import CHART, helm_binary


def render(*values: str) -> list[dict[str, Any]]:
    argv = [helm_binary(), "template", "r", str(CHART), "-n", "sluice"]
    for value in values:
        argv += ["--set", value]
    done = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def manager_env(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [deployment] = [o for o in objects if o["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def test_by_default_sqlite_on_the_pvc_and_the_embedded_store() -> None:
    objects = render()
    env = manager_env(objects)
    assert env["SLUICE_RUNTIME"] == "kubernetes" and env["SLUICE_DATA_DIR"] == "/data"
    assert "SLUICE_DATABASE_URL" not in env and "SLUICE_S3_ENDPOINT" not in env
    assert env["SLUICE_JOB_S3_ENDPOINT"] == "http://r-sluice.sluice.svc:8334"
    assert env["SLUICE_ADMIN_PASSWORD"]["secretKeyRef"]["key"] == "password"
    kinds = {o["kind"] for o in objects}
    assert {"PersistentVolumeClaim", "ServiceAccount", "ClusterRole", "RoleBinding"} <= kinds


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
    [secret] = [o for o in objects if o["kind"] == "Secret"]
    others = [o for o in objects if o["kind"] != "Secret"]
    assert url not in yaml.safe_dump(others) and "k3y" not in yaml.safe_dump(others)
    assert set(secret["data"]) == {"password", "database-url", "s3-secret-key"}
