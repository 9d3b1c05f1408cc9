"""``/system/status`` in OSCAR v4's shape, for one machine: CPU in millicores, memory in bytes.

The machine is the cluster's single node. Capacity is what Sluice may hand to jobs
(``SLUICE_TOTAL_CPU``/``SLUICE_TOTAL_MEMORY``, the whole machine by default), requests are what
running jobs and workers hold, usage is what the machine measures.
"""

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psutil

from sluice.capacity import Capacity
from sluice.core.buckets import StoreCounts
from sluice.domain.job import JobStatus

POD_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")


@dataclass(frozen=True)
class StatusSources:
    cluster_name: str
    started_at: float  # epoch seconds the manager started
    capacity: Capacity
    job_counts: Callable[[], Mapping[str, int]]  # jobs per JobStatus value
    services_count: Callable[[], int]
    store_counts: Callable[[], StoreCounts]


def cluster_status(sources: StatusSources) -> dict[str, Any]:
    capacity = sources.capacity
    jobs = dict(sources.job_counts())
    cpu_capacity = round(capacity.total_cpu * 1000)
    cpu_requested = round(capacity.used_cpu * 1000)
    cpu_used = round(psutil.cpu_percent(interval=None) / 100 * (psutil.cpu_count() or 1) * 1000)
    memory = psutil.virtual_memory()
    memory_used = memory.total - memory.available
    store = sources.store_counts()
    nodes = [_node(cpu_capacity, cpu_used, cpu_requested, capacity, memory_used)]
    cluster_nodes = getattr(capacity, "nodes", None)  # a cluster's capacity knows its nodes
    if callable(cluster_nodes):
        nodes = [_cluster_node(node) for node in cluster_nodes()]
    return {
        "cluster": {
            "nodes_count": len(nodes),
            "metrics": {
                "cpu": _free(cpu_capacity, cpu_used, cpu_requested, "cores"),
                "memory": _free(capacity.total_memory, memory_used, capacity.used_memory, "bytes"),
                "gpu": {"total_gpu": 0},
            },
            "nodes": nodes,
        },
        "oscar": {
            "deployment_name": sources.cluster_name,
            "ready": True,
            "deployment": _deployment(sources),
            "jobs_count": sum(jobs.values()),
            "pods": {"total": sum(jobs.values()), "states": _pod_states(jobs)},
            "oidc": {"enabled": False, "issuers": [], "groups": []},
            # Sluice's own additions: services, jobs by state, capacity in cores and bytes.
            "services_count": sources.services_count(),
            "jobs": jobs,
            "capacity": {
                "cpu_cores": {"total": capacity.total_cpu, "used": capacity.used_cpu},
                "memory_bytes": {"total": capacity.total_memory, "used": capacity.used_memory},
            },
        },
        "minio": {"buckets_count": store.buckets, "total_objects": store.objects},
    }


def _free(capacity: int, used: int, requested: int, unit: str) -> dict[str, int]:
    free = max(0, capacity - used)
    schedulable = max(0, capacity - requested)
    if unit == "cores":
        return {
            "total_free_cores": free,
            "max_free_on_node_cores": free,
            "total_schedulable_cores": schedulable,
            "total_schedulable_on_node_cores": schedulable,
        }
    return {
        "total_free_bytes": free,
        "max_free_on_node_bytes": free,
        "total_schedulable_bytes": schedulable,
        "max_schedulable_on_node_bytes": schedulable,
    }


def _node(
    cpu_capacity: int, cpu_used: int, cpu_requested: int, capacity: Capacity, memory_used: int
) -> dict[str, Any]:
    return {
        "name": socket.gethostname(),
        "cpu": {
            "capacity_cores": cpu_capacity,
            "usage_cores": cpu_used,
            "request_cores": cpu_requested,
        },
        "memory": {
            "capacity_bytes": capacity.total_memory,
            "usage_bytes": memory_used,
            "request_bytes": capacity.used_memory,
        },
        "gpu": 0,
        "is_interlink": False,
        "status": "Ready",
        "conditions": [{"type": "Ready", "status": True}],
    }


def _cluster_node(node: Any) -> dict[str, Any]:
    """A Kubernetes node (``execution.kubernetes.capacity.NodeInfo``): allocatable and what
    pods request; usage is not measured (no metrics server), so it reads as the requests."""
    ready = bool(node.ready)
    return {
        "name": node.name,
        "cpu": {
            "capacity_cores": round(node.cpu * 1000),
            "usage_cores": round(node.used_cpu * 1000),
            "request_cores": round(node.used_cpu * 1000),
        },
        "memory": {
            "capacity_bytes": node.memory,
            "usage_bytes": node.used_memory,
            "request_bytes": node.used_memory,
        },
        "gpu": 0,
        "is_interlink": False,
        "status": "Ready" if ready else "NotReady",
        "conditions": [{"type": "Ready", "status": ready}],
    }


def _deployment(sources: StatusSources) -> dict[str, Any]:
    started = datetime.fromtimestamp(sources.started_at, UTC).replace(microsecond=0)
    return {
        "available_replicas": 1,
        "ready_replicas": 1,
        "replicas": 1,
        "creation_timestamp": started.isoformat().replace("+00:00", "Z"),
        "strategy": "Recreate",
        "labels": {"app": sources.cluster_name, "app.kubernetes.io/managed-by": "sluice"},
    }


def _pod_states(jobs: Mapping[str, int]) -> dict[str, int]:
    """Jobs by state under Kubernetes' pod phase names; every phase is present."""
    states = dict.fromkeys(POD_PHASES, 0)
    for status in JobStatus:
        states[status.value] += jobs.get(status.value, 0)
    return states
