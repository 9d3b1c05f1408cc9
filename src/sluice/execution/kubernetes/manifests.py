"""The Kubernetes objects Sluice creates, as plain dicts (what ``kubectl get -o json`` shows).

A file job is a ``batch/v1`` Job of one pod with two containers sharing an ``emptyDir``
(``handoff.py``): ``supervisor`` (Sluice's image, stages the files) and ``job`` (the service's
image, runs the script). What the supervisor needs (the task, the token, the service's secrets,
the object store's keys) is in a Secret the pod mounts, never in the Job's spec. A synchronous
service, and every handler service, is a Deployment of the same two containers (the supervisor
serving ``/run``, and ``/jobs`` for a handler's batches) and a Service in front. Every object
carries OSCAR's ``oscar_service`` label, so deleting a service finds them all.
"""

import base64
import hashlib
import json
import math
from typing import Any

from sluice.domain.job import Job
from sluice.domain.service import Service
from sluice.execution.kubernetes.handoff import JOB_LOOP, SHARED

MANAGED = {"app.kubernetes.io/managed-by": "sluice"}
SERVICE_LABEL = "oscar_service"  # OSCAR's label on a service's Jobs, pods and Deployments
KIND_LABEL = "sluice.kind"  # job or sync
JOB_LABEL = "sluice.job"  # a hash of the job's id (ids need not be valid label values)
JOB_ID_ANNOTATION = "sluice.job-id"
# A hash of what a Deployment's pods are given (service, token, store, settings): a Deployment
# made from other inputs (an older service, another manager's store) is replaced, not reused.
INPUTS_LABEL = "sluice.inputs"
TASK_DIR = "/sluice-task"
WORK_DIR = f"{SHARED}/work"
SUPERVISOR_PORT = 8080
# The supervisor's own share: counted in every pod's requests, so in the cluster's capacity.
SUPERVISOR_CPU = "50m"
SUPERVISOR_MEMORY = "96Mi"
SUPERVISOR_MEMORY_LIMIT = "512Mi"
DEADLINE_MARGIN = 120  # seconds a Job may outlive its job's timeout before Kubernetes ends it

MANAGED_VOLUME = "managed-volume"

PULL_POLICY = {"never": "Never", "missing": "IfNotPresent", "always": "Always"}


def job_hash(job_id: str) -> str:
    return hashlib.sha256(job_id.encode()).hexdigest()[:16]


def job_name(job: Job) -> str:
    """One Job per attempt, named after the job and the attempt: a manager that restarts
    while it runs asks for the same name again and finds it (no second Job for the file)."""
    return f"sluice-{job_hash(job.id)}-{job.attempts}"


def sync_name(service: Service) -> str:
    return f"{service.name}-sync"


def cpu_quantity(cores: float) -> str:
    return f"{math.ceil(round(cores * 1000, 6))}m"


def service_labels(service: Service, kind: str) -> dict[str, str]:
    return {**MANAGED, SERVICE_LABEL: service.name, KIND_LABEL: kind}


def _resources(service: Service) -> dict[str, Any]:
    amount = {"cpu": cpu_quantity(service.cpu_cores), "memory": str(service.memory_bytes)}
    return {"requests": dict(amount), "limits": dict(amount)}


def _pod_spec(
    service: Service,
    secret: str,
    args: list[str],
    supervisor_image: str,
    pull: str,
    restart: str,
    probe: bool = False,
) -> dict[str, Any]:
    policy = PULL_POLICY[pull]
    supervisor: dict[str, Any] = {
        "name": "supervisor",
        "image": supervisor_image,
        "imagePullPolicy": policy,
        "command": ["python3", "-m", "sluice.execution.kubernetes.pod", *args],
        "volumeMounts": [
            {"name": "shared", "mountPath": str(SHARED)},
            {"name": "task", "mountPath": TASK_DIR, "readOnly": True},
        ],
        "resources": {
            "requests": {"cpu": SUPERVISOR_CPU, "memory": SUPERVISOR_MEMORY},
            "limits": {"memory": SUPERVISOR_MEMORY_LIMIT},
        },
    }
    if probe:
        supervisor["ports"] = [{"containerPort": SUPERVISOR_PORT, "name": "http"}]
        supervisor["readinessProbe"] = {
            "httpGet": {"path": "/health", "port": SUPERVISOR_PORT},
            "periodSeconds": 1,
        }
    job: dict[str, Any] = {
        "name": "job",
        "image": service.image,
        "imagePullPolicy": policy,
        "command": ["/bin/sh", "-c", JOB_LOOP],
        "workingDir": str(SHARED),
        "volumeMounts": [{"name": "shared", "mountPath": str(SHARED)}],
        "resources": _resources(service),
    }
    volumes: list[dict[str, Any]] = [
        {"name": "shared", "emptyDir": {}},
        {"name": "task", "secret": {"secretName": secret}},
    ]
    if service.volume is not None:  # a managed volume: its claim, in the job container
        claim = {"claimName": service.volume.name}
        volumes.append({"name": MANAGED_VOLUME, "persistentVolumeClaim": claim})
        job["volumeMounts"].append({"name": MANAGED_VOLUME, "mountPath": service.volume.mount_path})
    return {
        "restartPolicy": restart,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 5,
        "volumes": volumes,
        "containers": [supervisor, job],
    }


def job_manifest(
    job: Job,
    service: Service,
    namespace: str,
    *,
    timeout: float,
    supervisor_image: str,
    pull: str,
    log_cap: int,
) -> dict[str, Any]:
    """The Job of one attempt: ``backoffLimit: 0``, since Sluice's ledger owns retries."""
    name = job_name(job)
    labels = {**service_labels(service, "job"), JOB_LABEL: job_hash(job.id)}
    args = [
        "job",
        "--task",
        f"{TASK_DIR}/task.json",
        "--store",
        f"{TASK_DIR}/store.json",
        "--work-dir",
        WORK_DIR,
        "--log-cap",
        str(log_cap),
    ]
    pod = _pod_spec(service, name, args, supervisor_image, pull, "Never")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": {JOB_ID_ANNOTATION: job.id},
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": math.ceil(timeout) + DEADLINE_MARGIN,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def secret_manifest(
    name: str,
    namespace: str,
    labels: dict[str, str],
    files: dict[str, Any],
    owner: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Secret of JSON files; owned by ``owner`` (the Job) so it goes when its owner does."""
    data = {
        key: base64.b64encode(json.dumps(value).encode()).decode() for key, value in files.items()
    }
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if owner is not None:
        metadata["ownerReferences"] = [owner]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": data,
    }


def owner_reference(kind: str, api_version: str, name: str, uid: str) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid}


def deployment_manifest(
    service: Service,
    namespace: str,
    replicas: int,
    *,
    supervisor_image: str,
    pull: str,
    log_cap: int,
    default_timeout: float,
    inputs: str,
) -> dict[str, Any]:
    """A synchronous service's replicas: the supervisor serves ``/run`` on port 8080 (and a
    handler service's ``/jobs``). A handler's pod shares one process namespace, so that the
    supervisor can kill the warm worker in the job container when a call runs too long."""
    name = sync_name(service)
    labels = service_labels(service, "sync")
    args = [
        "serve",
        "--task",
        f"{TASK_DIR}/service.json",
        "--store",
        f"{TASK_DIR}/store.json",
        "--work-dir",
        WORK_DIR,
        "--log-cap",
        str(log_cap),
        "--default-timeout",
        f"{default_timeout:g}",
    ]
    secret = sync_secret_name(service, inputs)
    pod = _pod_spec(service, secret, args, supervisor_image, pull, "Always", probe=True)
    if service.handler:
        pod["shareProcessNamespace"] = True
    metadata = {
        "name": name,
        "namespace": namespace,
        "labels": labels,
        "annotations": {INPUTS_LABEL: inputs},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": {**labels, INPUTS_LABEL: inputs}}, "spec": pod},
        },
    }


def sync_secret_name(service: Service, inputs: str) -> str:
    """One Secret per version of a Deployment's inputs: a replaced Deployment's pods never
    read the new one's, nor the new pods a Secret that is being deleted."""
    return f"{sync_name(service)}-{inputs}"


def service_manifest(service: Service, namespace: str) -> dict[str, Any]:
    """The Service in front of a synchronous service's replicas."""
    name = sync_name(service)
    labels = service_labels(service, "sync")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "selector": labels,
            "ports": [{"name": "http", "port": SUPERVISOR_PORT, "targetPort": SUPERVISOR_PORT}],
        },
    }


def claim_manifest(
    name: str, namespace: str, size: str, storage_class: str | None
) -> dict[str, Any]:
    """A managed volume's PersistentVolumeClaim (``ReadWriteOnce``: every provisioner has it;
    the pods that mount it then run on the node it is attached to)."""
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED)},
        "spec": spec,
    }
