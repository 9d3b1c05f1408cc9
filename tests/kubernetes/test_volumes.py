"""Managed volumes on the real test cluster: a PersistentVolumeClaim per volume, mounted into
a service's Job pods, whose files outlive the jobs; deleting the service (or the volume)
deletes the claim. The test cluster has no provisioner, so the test makes the
PersistentVolumes beforehand (hostPath, a storage class of its own) as an administrator
would; the claims bind to them."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import s3_client, wait_for
from tests.kubernetes.conftest import BUSYBOX, kubernetes_sluice
from tests.kubernetes.test_kubernetes_jobs import ended
from tests.sluice_process import SluiceProcess

STORAGE_CLASS = "sluice-test-static"


@pytest.fixture(scope="module")
def sluice_server(
    tmp_path_factory: pytest.TempPathFactory, cluster: Path, namespace: str
) -> Iterator[SluiceProcess]:
    server = kubernetes_sluice(
        tmp_path_factory.mktemp("sluice"),
        cluster,
        namespace,
        SLUICE_K8S_STORAGE_CLASS=STORAGE_CLASS,
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def volumes(kube: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Path]]:
    """Two PersistentVolumes on this machine's disk, for the claims to bind to."""
    core, _, _ = kube
    folders, names = [], []
    for n in range(2):
        folder = tmp_path_factory.mktemp(f"pv{n}")
        folder.chmod(0o777)
        name = f"sluice-test-pv-{n}-{uuid.uuid4().hex[:8]}"
        core.create_persistent_volume(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": name},
                "spec": {
                    "capacity": {"storage": "64Mi"},
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": STORAGE_CLASS,
                    "persistentVolumeReclaimPolicy": "Retain",
                    "hostPath": {"path": str(folder), "type": "Directory"},
                },
            }
        )
        folders.append(folder)
        names.append(name)
    try:
        yield folders
    finally:
        for name in names:
            core.delete_persistent_volume(name)


def claims(kube: Any, namespace: str) -> dict[str, str]:
    core, _, _ = kube
    items = core.list_namespaced_persistent_volume_claim(namespace).items
    return {claim.metadata.name: claim.status.phase for claim in items}


def test_a_services_volume_is_a_claim_its_jobs_share_and_goes_with_the_service(
    http: httpx.Client, kube: Any, namespace: str, volumes: list[Path]
) -> None:
    service = {
        "name": "counter",
        "image": BUSYBOX,
        "memory": "64Mi",
        "cpu": "0.1",
        # Each job adds its file's name to what the volume holds and outputs the whole list.
        "script": 'basename "$INPUT_FILE_PATH" >> /data/seen; cp /data/seen "$TMP_OUTPUT_DIR/"',
        "volume": {"size": "16Mi", "mount_path": "/data"},
        "input": [{"storage_provider": "minio.default", "path": "counter/in"}],
        "output": [{"storage_provider": "minio.default", "path": "counter/out"}],
    }
    answer = http.post("/system/services", json=service)
    assert answer.status_code == 201, answer.text
    wait_for(lambda: claims(kube, namespace).get("counter") == "Bound", 60, "the bound claim")
    s3 = s3_client(http)
    s3.put_object(Bucket="counter", Key="in/first.txt", Body=b"1")
    ended(http, "counter", 1)
    s3.put_object(Bucket="counter", Key="in/second.txt", Body=b"2")
    jobs = ended(http, "counter", 2)
    assert {job["status"] for job in jobs} == {"Succeeded"}, jobs
    seen = s3.get_object(Bucket="counter", Key="out/seen")["Body"].read()
    assert seen == b"first.txt\nsecond.txt\n"  # the second job saw what the first wrote
    # The file is on the PersistentVolume the claim was bound to.
    assert [(f / "seen").read_bytes() for f in volumes if (f / "seen").exists()] == [seen]
    listed = http.get("/system/volumes").json()
    assert [v["name"] for v in listed] == ["counter"], listed
    assert http.delete("/system/services/counter").status_code == 204
    wait_for(lambda: "counter" not in claims(kube, namespace), 60, "the claim to go")


def test_a_volume_made_through_the_api_is_a_claim_until_deleted(
    http: httpx.Client, kube: Any, namespace: str, volumes: list[Path]
) -> None:
    answer = http.post("/system/volumes", json={"name": "shared-data", "size": "8Mi"})
    assert answer.status_code == 201, answer.text
    assert "shared-data" in claims(kube, namespace)
    assert http.delete("/system/volumes/shared-data").status_code == 204
    wait_for(lambda: "shared-data" not in claims(kube, namespace), 60, "the claim to go")
