"""Kubernetes runtime tests on a real cluster (``scripts/k8s-up``: Kubernetes 1.20 built from
Debian's source package, containerd, a CNI bridge), started once per test session and stopped
by ``scripts/k8s-down`` at its end. Pods run only images imported from this machine's podman
storage (``imagePullPolicy: Never``); they reach the object store at 10.252.0.1, the pod
bridge's address on this machine."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sluice.execution.kubernetes.handoff import JOB_LOOP, HandoffRuntime
from tests.sluice_process import SluiceProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
BUSYBOX = "localhost/sluice/busybox:latest"
SLUICE_IMAGE = "localhost/sluice/sluice:latest"
PY_HANDLER = "localhost/sluice/py-handler:latest"  # tests/images/py-handler
POD_HOST = "10.252.0.1"  # this machine as pods see it (the CNI bridge)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The test cluster's kubeconfig skips TLS verification (a loopback API server): its
    warning, once per request, says nothing here."""
    here = Path(__file__).parent
    ignore = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(ignore)


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@pytest.fixture(scope="session")
def cluster() -> Iterator[Path]:
    """The kubeconfig of a running test cluster with Sluice's and the test images imported.
    ``SLUICE_TEST_CLUSTER=DIR`` uses a cluster already started with ``scripts/k8s-up DIR``
    (and leaves it running), for working on these tests."""
    running = os.environ.get("SLUICE_TEST_CLUSTER")
    if running:
        yield Path(running) / "kubeconfig"
        return
    if os.geteuid() != 0:
        pytest.fail("the Kubernetes tests need root (the kubelet, containerd, routes)")
    _run([str(ROOT / "scripts" / "test-images"), "--check"])
    _run([str(ROOT / "scripts" / "k8s-images")])
    folder = Path(tempfile.mkdtemp(prefix="sk8s-", dir="/tmp"))  # short: socket paths
    try:
        _run([str(ROOT / "scripts" / "k8s-up"), str(folder), SLUICE_IMAGE, BUSYBOX, PY_HANDLER])
        yield folder / "kubeconfig"
    finally:
        subprocess.run([str(ROOT / "scripts" / "k8s-down"), str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def kubernetes_env(kubeconfig: Path, namespace: str, s3_port: int) -> dict[str, str]:
    return {
        "SLUICE_RUNTIME": "kubernetes",
        "SLUICE_KUBECONFIG": str(kubeconfig),
        "SLUICE_K8S_NAMESPACE": namespace,
        "SLUICE_IMAGE_PULL": "never",
        "SLUICE_SUPERVISOR_IMAGE": SLUICE_IMAGE,
        "SLUICE_JOB_S3_ENDPOINT": f"http://{POD_HOST}:{s3_port}",
        "SLUICE_RETRY_BACKOFF": "0.2",
        "SLUICE_WORKER_IDLE_TIMEOUT": "5",
    }


def kubernetes_sluice(
    data_dir: Path, kubeconfig: Path, namespace: str, **env: str
) -> SluiceProcess:
    s3_port = free_port()
    settings = {**kubernetes_env(kubeconfig, namespace, s3_port), **env}
    return SluiceProcess(data_dir=data_dir, s3_port=s3_port, env=settings)


@pytest.fixture(scope="module")
def namespace(request: pytest.FixtureRequest) -> str:
    return "t-" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")


@pytest.fixture(scope="module")
def sluice_server(
    tmp_path_factory: pytest.TempPathFactory, cluster: Path, namespace: str
) -> Iterator[SluiceProcess]:
    server = kubernetes_sluice(tmp_path_factory.mktemp("sluice"), cluster, namespace).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def kube(cluster: Path) -> Any:
    """The official client's CoreV1Api, BatchV1Api and AppsV1Api for the test cluster."""
    import urllib3
    from kubernetes import client, config

    # The test cluster's kubeconfig skips TLS verification (a loopback API server).
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    configuration = client.Configuration()
    config.load_kube_config(str(cluster), client_configuration=configuration)
    api = client.ApiClient(configuration)
    return client.CoreV1Api(api), client.BatchV1Api(api), client.AppsV1Api(api)


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[Path]:
    """A pod's job container without a cluster: ``JOB_LOOP`` under a real /bin/sh, on the
    handoff folder it yields (in ``tmp_path``)."""
    handoff = tmp_path / "handoff"
    env = {**os.environ, "SLUICE_HANDOFF": str(handoff)}
    process = subprocess.Popen(["/bin/sh", "-c", JOB_LOOP], env=env)
    try:
        yield handoff
    finally:
        HandoffRuntime(handoff).finish()
        process.wait(10)
