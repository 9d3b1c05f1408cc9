"""The objects the Kubernetes runtime creates, against recorded ones (``recorded/``: what the
test cluster accepted). To record again after a deliberate change:
``SLUICE_RECORD=1 .venv/bin/pytest tests/kubernetes/test_manifests.py``."""

import base64
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from sluice.domain.job import Job, ObjectRef
from sluice.domain.service import Service
from sluice.execution.kubernetes import manifests as m

RECORDED = Path(__file__).parent / "recorded"

SERVICE = Service.model_validate(
    {
        "name": "upper",
        "image": "localhost/sluice/busybox:latest",
        "cpu": "0.5",
        "memory": "64Mi",
        "script": "tr a-z A-Z < $INPUT_FILE_PATH > $TMP_OUTPUT_DIR/out.txt",
        "environment": {"variables": {"A": "1"}, "secrets": {"TOKEN": "s3cr3t"}},
        "input": [{"storage_provider": "minio.default", "path": "upper/in"}],
        "output": [{"storage_provider": "minio.default", "path": "upper/out"}],
    }
)
JOB = Job.running("job-1", "upper", ObjectRef("minio.default", "upper", "in/a.txt", "etag-1"), None)


def against_recorded(name: str, made: dict[str, Any]) -> None:
    path = RECORDED / f"{name}.json"
    if os.environ.get("SLUICE_RECORD"):
        path.write_text(json.dumps(made, indent=2, sort_keys=True) + "\n")
    assert made == json.loads(path.read_text())


def test_a_job_is_one_attempt_with_no_kubernetes_retries() -> None:
    made = m.job_manifest(
        JOB,
        SERVICE,
        "sluice-svc",
        timeout=60,
        supervisor_image="localhost/s:1",
        pull="never",
        log_cap=1024,
    )
    against_recorded("job", made)
    spec = made["spec"]
    assert spec["backoffLimit"] == 0
    pod = spec["template"]["spec"]
    job = next(c for c in pod["containers"] if c["name"] == "job")
    assert (
        job["resources"]["requests"]
        == job["resources"]["limits"]
        == {
            "cpu": "500m",
            "memory": str(64 * 1024 * 1024),
        }
    )
    assert {c["imagePullPolicy"] for c in pod["containers"]} == {"Never"}
    assert made["metadata"]["labels"]["oscar_service"] == "upper"


def test_no_secret_is_in_a_jobs_spec() -> None:
    made = m.job_manifest(
        JOB, SERVICE, "ns", timeout=60, supervisor_image="s", pull="missing", log_cap=1024
    )
    assert "s3cr3t" not in json.dumps(made)


def test_the_secret_holds_the_task_and_is_owned_by_its_job() -> None:
    owner = m.owner_reference("Job", "batch/v1", "sluice-x-1", "uid-1")
    made = m.secret_manifest(
        "sluice-x-1", "ns", {"oscar_service": "upper"}, {"a.json": {"k": 1}}, owner
    )
    against_recorded("secret", made)
    assert json.loads(base64.b64decode(made["data"]["a.json"])) == {"k": 1}


def test_a_sync_service_is_a_deployment_and_a_service() -> None:
    deployment = m.deployment_manifest(
        SERVICE,
        "sluice-svc",
        1,
        supervisor_image="localhost/s:1",
        pull="never",
        log_cap=1024,
        default_timeout=300,
        inputs="abc123",
    )
    against_recorded("deployment", deployment)
    against_recorded("service", m.service_manifest(SERVICE, "sluice-svc"))
    labels = deployment["spec"]["selector"]["matchLabels"]
    assert labels.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    template = deployment["spec"]["template"]
    assert "shareProcessNamespace" not in template["spec"]
    # Pods and Secret belong to one version of the inputs: a Deployment made from others
    # (an older service, another store) is replaced, and its pods are never called.
    assert template["metadata"]["labels"][m.INPUTS_LABEL] == "abc123"
    [task] = [v for v in template["spec"]["volumes"] if v["name"] == "task"]
    assert task["secret"]["secretName"] == "upper-sync-abc123"


def test_a_handler_services_pods_share_one_process_namespace() -> None:
    """So that the supervisor can kill the warm worker in the job container."""
    handler = SERVICE.model_copy(update={"handler": "model:handle", "script": None})
    deployment = m.deployment_manifest(
        handler,
        "sluice-svc",
        2,
        supervisor_image="localhost/s:1",
        pull="never",
        log_cap=1024,
        default_timeout=60,
        inputs="abc123",
    )
    pod = deployment["spec"]["template"]["spec"]
    assert pod["shareProcessNamespace"] is True
    [supervisor] = [c for c in pod["containers"] if c["name"] == "supervisor"]
    assert supervisor["command"][-2:] == ["--default-timeout", "60"]
    assert "s3cr3t" not in json.dumps(deployment)


@pytest.mark.parametrize("attempts", [1, 2])
def test_job_names_are_per_attempt_and_valid(attempts: int) -> None:
    job = dataclasses.replace(Job.running("x" * 200, "upper", None, None), attempts=attempts)
    name = m.job_name(job)
    assert len(name) <= 63 and name.endswith(f"-{attempts}")
    assert name != m.job_name(dataclasses.replace(job, attempts=attempts + 1))


def test_a_managed_volume_is_its_claim_mounted_in_the_job_container_only() -> None:
    with_volume = Service.model_validate(
        {**SERVICE.model_dump(mode="json"), "volume": {"size": "1Gi", "mount_path": "/data"}}
    )
    made = m.job_manifest(
        JOB, with_volume, "ns", timeout=60, supervisor_image="s", pull="never", log_cap=1024
    )
    pod = made["spec"]["template"]["spec"]
    [claim] = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert claim["persistentVolumeClaim"] == {"claimName": "upper"}  # the service's name
    mounts = {c["name"]: c["volumeMounts"] for c in pod["containers"]}
    assert {"name": claim["name"], "mountPath": "/data"} in mounts["job"]
    assert all(mount["name"] != claim["name"] for mount in mounts["supervisor"])


@pytest.mark.parametrize("storage_class", [None, "fast-ssd"])
def test_a_volumes_claim_asks_for_its_size_and_class(storage_class: str | None) -> None:
    claim = m.claim_manifest("data", "ns", "2Gi", storage_class)
    assert claim["spec"]["resources"] == {"requests": {"storage": "2Gi"}}
    assert claim["spec"].get("storageClassName") == storage_class  # None: the cluster's default
    assert claim["metadata"]["labels"] == m.MANAGED
