"""``helm install`` of deploy/helm/sluice on the test cluster brings up a Sluice (in a pod,
in-cluster config, its own ServiceAccount and RBAC) and its object store (by default the
SeaweedFS StatefulSet, whose webhook starts the job) that runs an uploaded file's job as a
Job and stores its output."""

import contextlib
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.e2e.helpers import all_jobs, keys_under, s3_client, wait_for
from tests.kubernetes.conftest import BUSYBOX, POD_HOST, ROOT
from tests.postgres import postgres_cluster
from tests.sluice_process import free_port

CHART = ROOT / "deploy" / "helm" / "sluice"
PASSWORD = "helm-test-password"
STATIC_CLASS = "t-helm-static"  # the persistence test's own volumes


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


@contextmanager
def helm_release(cluster: Path, release: str, *values: str) -> Iterator[str]:
    """``release`` installed with the test cluster's values and ``values``: its API address;
    uninstalled at the end."""
    helm = [helm_binary(), "--kubeconfig", str(cluster)]
    port, s3_port = free_port(), free_port()
    settings = [
        f"service.port={port}",
        f"objectStore.port={s3_port}",
        f"objectStore.jobEndpoint=http://{POD_HOST}:{s3_port}",
        f"admin.password={PASSWORD}",
        f"servicesNamespace=t-{release}-svc",
        # Scans for missed uploads every 2 s: the webhook's job must be the only one.
        "extraEnv.SLUICE_RECONCILE_INTERVAL=2",
        *values,
    ]
    install = [*helm, "install", release, str(CHART), "-n", "t-helm", "--create-namespace"]
    install += ["-f", str(CHART / "values-testbed.yaml")]
    for value in settings:
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


@pytest.fixture
def installed(cluster: Path, database: str, mode: str, release: str) -> Iterator[str]:
    """The release's API address, uninstalled at the end."""
    values = [
        *([f"database.url={database}"] if database else []),
        *([f"objectStore.mode={mode}"] if mode != "seaweedfs" else store_ports()),
    ]
    with helm_release(cluster, release, *values) as url:
        yield url


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def create_copier(http: httpx.Client, name: str, output: str) -> None:
    service = {
        "name": name,
        "image": BUSYBOX,
        "memory": "64Mi",
        "cpu": "0.1",
        "script": f'cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/{output}"',
        "input": [{"storage_provider": "minio.default", "path": f"{name}/in"}],
        "output": [{"storage_provider": "minio.default", "path": f"{name}/out"}],
    }
    answer = http.post("/system/services", json=service)
    assert answer.status_code == 201, answer.text


def test_helm_install_brings_up_a_sluice_that_processes_a_file(
    installed: str, database: str, mode: str, release: str, kube: Any
) -> None:
    wait_for(lambda: healthy(installed), 240, "the installed manager's /health")
    with httpx.Client(base_url=installed, auth=("oscar", PASSWORD), timeout=30) as http:
        create_copier(http, "helm-copy", "copied.txt")
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


@pytest.fixture
def volumes(tmp_path: Path, kube: Any) -> Iterator[str]:
    """A storage class name with two hostPath PersistentVolumes (the test cluster has no
    provisioner) for the manager's PVC and the StatefulSet's claim; removed at the end."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core, _, _ = kube
    names = [f"t-helm-pv-{uuid.uuid4().hex[:8]}-{n}" for n in ("manager", "store")]
    try:
        for name in names:
            (tmp_path / name).mkdir()
            source = client.V1HostPathVolumeSource(path=str(tmp_path / name), type="Directory")
            spec = client.V1PersistentVolumeSpec(
                capacity={"storage": "20Gi"},
                access_modes=["ReadWriteOnce"],
                storage_class_name=STATIC_CLASS,
                persistent_volume_reclaim_policy="Retain",
                host_path=source,
            )
            volume = client.V1PersistentVolume(metadata={"name": name}, spec=spec)
            core.create_persistent_volume(volume)
        yield STATIC_CLASS
    finally:
        # Kubernetes keeps a StatefulSet's claims when it is deleted (helm uninstall too).
        for claim in core.list_namespaced_persistent_volume_claim("t-helm").items:
            if claim.spec.storage_class_name == STATIC_CLASS:
                core.delete_namespaced_persistent_volume_claim(claim.metadata.name, "t-helm")
        for name in names:
            with contextlib.suppress(ApiException):
                core.delete_persistent_volume(name)

        def gone() -> bool:
            left = {volume.metadata.name for volume in core.list_persistent_volume().items}
            return not left & set(names)

        wait_for(gone, 60, "the test's PersistentVolumes deleted")


def read(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError:
        return None


def ready(pod: Any) -> bool:
    conditions = pod.status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def test_with_persistence_the_store_and_the_manager_keep_their_data_across_restarts(
    cluster: Path, volumes: str, kube: Any
) -> None:
    """The chart's default persistence (a PVC for the manager, volumeClaimTemplates for the
    store), on static volumes: both pods deleted and recreated keep objects, services, keys."""
    core, _, _ = kube
    values = ["persistence.enabled=true", f"persistence.storageClass={volumes}", *store_ports()]
    with helm_release(cluster, "hv", *values) as url:
        wait_for(lambda: healthy(url), 240, "the installed manager's /health")
        with httpx.Client(base_url=url, auth=("oscar", PASSWORD), timeout=30) as http:
            create_copier(http, "kept", '$(basename "$INPUT_FILE_PATH")')
            s3 = s3_client(http)
            s3.put_object(Bucket="kept", Key="in/a.txt", Body=b"before")
            wait_for(lambda: keys_under(s3, "kept", "out/"), 180, "the first job's output")
        claims = core.list_namespaced_persistent_volume_claim("t-helm").items
        assert {claim.metadata.name for claim in claims} == {
            "hv-sluice",
            "data-hv-sluice-seaweedfs-0",
        }
        pods = core.list_namespaced_pod("t-helm", label_selector="app.kubernetes.io/instance=hv")
        for pod in pods.items:
            core.delete_namespaced_pod(pod.metadata.name, "t-helm", grace_period_seconds=0)
        olds = {pod.metadata.uid for pod in pods.items}

        def replaced() -> bool:
            now = core.list_namespaced_pod("t-helm", label_selector="app.kubernetes.io/instance=hv")
            uids = {pod.metadata.uid for pod in now.items}
            return len(uids) == 2 and not olds & uids and all(map(ready, now.items))

        wait_for(replaced, 180, "both pods replaced and Ready")
        wait_for(lambda: healthy(url), 240, "the restarted manager's /health")
        with httpx.Client(base_url=url, auth=("oscar", PASSWORD), timeout=30) as http:
            s3 = s3_client(http)  # the same keys (the store's Secret), the same objects
            started = time.monotonic()
            assert wait_for(lambda: read(s3, "kept", "out/a.txt"), 60, "a.txt") == b"before"
            print(f"out/a.txt read again {time.monotonic() - started:.1f} s after both were Ready")
            s3.put_object(Bucket="kept", Key="in/b.txt", Body=b"after")
            # The service is still there (the manager's PVC) and the webhook still reaches it.
            wait_for(
                lambda: len(keys_under(s3, "kept", "out/")) == 2 or None, 180, "the second output"
            )
            time.sleep(5)
            assert len(all_jobs(http, "kept")) == 2
