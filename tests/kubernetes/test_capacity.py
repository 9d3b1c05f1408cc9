"""The cluster's capacity from recorded node and pod objects (no cluster)."""

from types import SimpleNamespace
from typing import Any

from sluice.execution.kubernetes.capacity import ClusterCapacity

GI = 1024**3


def node(name: str, cpu: str, memory: str, ready: bool = True) -> Any:
    condition = SimpleNamespace(type="Ready", status="True" if ready else "False")
    return SimpleNamespace(
        metadata=SimpleNamespace(name=name),
        spec=SimpleNamespace(unschedulable=None),
        status=SimpleNamespace(allocatable={"cpu": cpu, "memory": memory}, conditions=[condition]),
    )


def pod(node_name: str, cpu: str, memory: str, sluice: bool = False) -> Any:
    labels = {"app.kubernetes.io/managed-by": "sluice"} if sluice else {}
    resources = SimpleNamespace(requests={"cpu": cpu, "memory": memory})
    return SimpleNamespace(
        metadata=SimpleNamespace(labels=labels),
        spec=SimpleNamespace(
            node_name=node_name, containers=[SimpleNamespace(resources=resources)]
        ),
    )


class Core:
    def __init__(self, nodes: list[Any], pods: list[Any]) -> None:
        self.nodes, self.pods = nodes, pods

    def list_node(self) -> Any:
        return SimpleNamespace(items=self.nodes)

    def list_pod_for_all_namespaces(self, field_selector: str) -> Any:
        assert "status.phase!=Succeeded" in field_selector
        return SimpleNamespace(items=self.pods)


def test_allocatable_of_ready_nodes_minus_other_pods_requests() -> None:
    core = Core(
        [node("a", "2", "4Gi"), node("b", "4000m", "8Gi"), node("down", "8", "16Gi", ready=False)],
        [pod("a", "500m", "1Gi"), pod("b", "1", "1Gi", sluice=True)],  # Sluice's: reserved here
    )
    capacity = ClusterCapacity(core)
    assert capacity.total_cpu == 5.5 and capacity.total_memory == 11 * GI
    assert capacity.fits_ever(4, 8 * GI) and not capacity.fits_ever(4.5, GI)  # one node's worth
    [a, b, down] = capacity.nodes()
    assert (a.used_cpu, b.used_memory, down.ready) == (0.5, GI, False)


def test_reservations_add_the_supervisors_share_and_give_back() -> None:
    capacity = ClusterCapacity(Core([node("a", "1", "1Gi")], []), overhead=(0.25, 0))
    first = capacity.try_acquire(0.5, GI // 2)
    assert first is not None and capacity.used_cpu == 0.75
    assert capacity.try_acquire(0.5, 0) is None  # 0.75 + 0.75 > 1
    first.release()
    assert capacity.used_cpu == 0 and capacity.try_acquire(0.5, GI // 2) is not None
