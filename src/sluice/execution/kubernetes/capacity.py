"""The cluster's capacity: what its Ready nodes can allocate, minus what pods Sluice did not
start request, minus what Sluice's own jobs hold (counted here, as they are reserved, so that
a pod not yet scheduled is counted too)."""

import threading
import time
from dataclasses import dataclass
from typing import Any

from sluice.capacity import Reservation
from sluice.domain.quantity import parse_cpu, parse_memory
from sluice.execution.kubernetes.manifests import MANAGED

REFRESH = 5.0  # seconds a reading of the cluster is used before the next
MANAGED_SELECTOR = ",".join(f"{key}={value}" for key, value in MANAGED.items())


@dataclass(frozen=True)
class NodeInfo:
    """One node, as ``/system/status`` reports it."""

    name: str
    cpu: float  # allocatable cores
    memory: int  # allocatable bytes
    used_cpu: float  # requested by the pods on it
    used_memory: int
    ready: bool


def _cpu(value: str | None) -> float:
    return parse_cpu(value) if value else 0.0


def _memory(value: str | None) -> int:
    if not value:
        return 0
    if value.isdigit():
        return int(value)
    return parse_memory(value.replace("k", "K") if value.endswith("k") else value)


def _ready(node: Any) -> bool:
    conditions = node.status.conditions or []
    ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
    return ready and not node.spec.unschedulable


def _requests(pod: Any) -> tuple[float, int]:
    cpu, memory = 0.0, 0
    for container in pod.spec.containers or []:
        requests = (container.resources.requests or {}) if container.resources else {}
        cpu += _cpu(requests.get("cpu"))
        memory += _memory(requests.get("memory"))
    return cpu, memory


class ClusterCapacity:
    """``Capacity`` (``sluice.capacity``) of a Kubernetes cluster; ``overhead`` is what each
    job's pod asks for besides the service's own CPU and memory (the supervisor)."""

    def __init__(self, core: Any, overhead: tuple[float, int] = (0.0, 0)) -> None:
        self._core = core
        self._overhead = overhead
        self._lock = threading.Lock()
        self._read_at = 0.0
        self._total_cpu = 0.0
        self._total_memory = 0
        self._largest = (0.0, 0)
        self._nodes: list[NodeInfo] = []
        self._used_cpu = 0.0
        self._used_memory = 0

    def _refresh(self, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._read_at < REFRESH:
                return
        nodes = [n for n in self._core.list_node().items]
        phase = "status.phase!=Succeeded,status.phase!=Failed"
        pods = self._core.list_pod_for_all_namespaces(field_selector=phase).items
        per_node: dict[str, tuple[float, int]] = {}
        others_cpu, others_memory = 0.0, 0
        for pod in pods:
            cpu, memory = _requests(pod)
            node = pod.spec.node_name or ""
            used = per_node.get(node, (0.0, 0))
            per_node[node] = (used[0] + cpu, used[1] + memory)
            labels = pod.metadata.labels or {}
            if labels.get("app.kubernetes.io/managed-by") != "sluice":
                others_cpu += cpu
                others_memory += memory
        infos = []
        for node in nodes:
            allocatable = node.status.allocatable or {}
            name = node.metadata.name
            used = per_node.get(name, (0.0, 0))
            infos.append(
                NodeInfo(
                    name,
                    _cpu(allocatable.get("cpu")),
                    _memory(allocatable.get("memory")),
                    used[0],
                    used[1],
                    _ready(node),
                )
            )
        ready = [info for info in infos if info.ready]
        with self._lock:
            self._nodes = infos
            self._total_cpu = max(0.0, sum(i.cpu for i in ready) - others_cpu)
            self._total_memory = max(0, sum(i.memory for i in ready) - others_memory)
            self._largest = (
                max((i.cpu for i in ready), default=0.0),
                max((i.memory for i in ready), default=0),
            )
            self._read_at = time.monotonic()

    @property
    def overhead(self) -> tuple[float, int]:
        """What each job's pod asks for besides its service's CPU and memory."""
        return self._overhead

    def nodes(self) -> list[NodeInfo]:
        self._refresh()
        with self._lock:
            return list(self._nodes)

    def fits_ever(self, cpu: float, memory: int) -> bool:
        self._refresh()
        cpu, memory = cpu + self._overhead[0], memory + self._overhead[1]
        with self._lock:
            return cpu <= self._largest[0] + 1e-9 and memory <= self._largest[1]

    def try_acquire(self, cpu: float, memory: int) -> Reservation | None:
        self._refresh()
        cpu, memory = cpu + self._overhead[0], memory + self._overhead[1]
        with self._lock:
            if self._used_cpu + cpu > self._total_cpu + 1e-9:
                return None
            if self._used_memory + memory > self._total_memory:
                return None
            self._used_cpu += cpu
            self._used_memory += memory
        return Reservation(cpu, memory, lambda: self._give_back(cpu, memory))

    def _give_back(self, cpu: float, memory: int) -> None:
        with self._lock:
            self._used_cpu -= cpu
            self._used_memory -= memory

    @property
    def total_cpu(self) -> float:
        self._refresh()
        return self._total_cpu

    @property
    def total_memory(self) -> int:
        self._refresh()
        return self._total_memory

    @property
    def used_cpu(self) -> float:
        return max(0.0, self._used_cpu)

    @property
    def used_memory(self) -> int:
        return max(0, self._used_memory)

    @property
    def free_cpu(self) -> float:
        return max(0.0, self.total_cpu - self.used_cpu)

    @property
    def free_memory(self) -> int:
        return max(0, self.total_memory - self.used_memory)
