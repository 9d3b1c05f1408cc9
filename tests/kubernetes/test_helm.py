"""``helm install`` of deploy/helm/sluice on the test cluster brings up a Sluice (in a pod,
in-cluster config, its own ServiceAccount and RBAC) and its object store (by default the
SeaweedFS StatefulSet, whose webhook starts the job) that runs an uploaded file's job as a
Job and stores its output."""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.helpers import all_jobs, keys_under, s3_client, wait_for
from tests.kubernetes.conftest import BUSYBOX, POD_HOST, ROOT
from tests.postgres import postgres_cluster
from tests.sluice_process import free_port

CHART = ROOT / "deploy" / "helm" / "sluice"
PASSWORD = "helm-test-password"


def helm_binary() -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / "k8s-helm")], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


# (database, object store): the default StatefulSet with either database, and the store
# embedded in the manager's pod.
SETUPS = [("sqlite", "seaweedfs"), ("postgresql", "seaweedfs"), ("sqlite", "embedded")]


@pytest.fixture(params=SETUPS, ids=["-".join(setup) for setup in SETUPS])
def setup(request: pytest.FixtureRequest) -> tuple[str, str]:
    database, mode = request.param
    return database, mode


@pytest.fixture
def database(setup: tuple[str, str]) -> Iterator[str]:
    """ "" (SQLite in the data dir), or the URL of a throw-away PostgreSQL on 127.0.0.1."""
    if setup[0] == "sqlite":
        yield ""
        return
    with postgres_cluster() as server, server.database() as url:
        yield url


@pytest.fixture
def mode(setup: tuple[str, str]) -> str:
    return setup[1]


@pytest.fixture
def release(database: str, mode: str) -> str:
    return "he" if mode == "embedded" else "hp" if database else "hs"


def store_ports() -> list[str]:
    """The StatefulSet's own ports: free ones, as it runs on the node's network here."""
    names = ["master", "masterGrpc", "volume", "volumeGrpc", "filer", "filerGrpc", "s3Grpc"]
    return [f"objectStore.seaweedfs.ports.{name}={free_port()}" for name in names]


@pytest.fixture
def installed(cluster: Path, database: str, mode: str, release: str) -> Iterator[str]:
    """The release's API address, uninstalled at the end."""
    helm = [helm_binary(), "--kubeconfig", str(cluster)]
    port, s3_port = free_port(), free_port()
    values = [
        *([f"database.url={database}"] if database else []),
        *([f"objectStore.mode={mode}"] if mode != "seaweedfs" else store_ports()),
        f"service.port={port}",
        f"objectStore.port={s3_port}",
        f"objectStore.jobEndpoint=http://{POD_HOST}:{s3_port}",
        f"admin.password={PASSWORD}",
        f"servicesNamespace=t-{release}-svc",
        # Scans for missed uploads every 2 s: the webhook's job must be the only one.
        "extraEnv.SLUICE_RECONCILE_INTERVAL=2",
    ]
    install = [*helm, "install", release, str(CHART), "-n", "t-helm", "--create-namespace"]
    install += ["-f", str(CHART / "values-testbed.yaml")]
    for value in values:
        install += ["--set", value]
    done = subprocess.run(install, check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*helm, "uninstall", release, "-n", "t-helm", "--wait"],
            check=False,
            capture_output=True,
        )


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_helm_install_brings_up_a_sluice_that_processes_a_file(
    installed: str, database: str, mode: str, release: str, kube: Any
) -> None:
    wait_for(lambda: healthy(installed), 240, "the installed manager's /health")
    with httpx.Client(base_url=installed, auth=("oscar", PASSWORD), timeout=30) as http:
        service = {
            "name": "helm-copy",
            "image": BUSYBOX,
            "memory": "64Mi",
            "cpu": "0.1",
            "script": 'cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/copied.txt"',
            "input": [{"storage_provider": "minio.default", "path": "helm-copy/in"}],
            "output": [{"storage_provider": "minio.default", "path": "helm-copy/out"}],
        }
        answer = http.post("/system/services", json=service)
        assert answer.status_code == 201, answer.text
        s3 = s3_client(http)
        s3.put_object(Bucket="helm-copy", Key="in/a.txt", Body=b"from a pod")
        wait_for(lambda: keys_under(s3, "helm-copy", "out/"), 180, "the job's output")
        assert s3.get_object(Bucket="helm-copy", Key="out/copied.txt")["Body"].read() == (
            b"from a pod"
        )
        time.sleep(5)  # two more scans for missed uploads: they find the upload's job
        assert len(all_jobs(http, "helm-copy")) == 1
    if database:  # the ledger in the pod is the PostgreSQL the chart was given

        def recorded() -> bool:  # outputs land before the job's end is recorded
            address = database.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(address) as conn:
                rows = conn.execute("SELECT status FROM jobs WHERE service = 'helm-copy'")
                return rows.fetchall() == [("Succeeded",)]

        wait_for(recorded, 60, "the job recorded as Succeeded in PostgreSQL")
    core, _, _ = kube
    pods = core.list_namespaced_pod(
        "t-helm", label_selector=f"app.kubernetes.io/instance={release}"
    )
    by_name = {pod.metadata.labels["app.kubernetes.io/name"]: pod for pod in pods.items}
    assert set(by_name) == ({"sluice"} if mode == "embedded" else {"sluice", "sluice-seaweedfs"})
    manager = by_name["sluice"]
    assert manager.spec.service_account_name == f"{release}-sluice"
    # The job came from the store's webhook at once, not from a scan for missed uploads.
    log = core.read_namespaced_pod_log(manager.metadata.name, "t-helm", container="manager")
    assert "reconciliation found" not in log
