"""Read-models for the web UI: job counts per service, the workflow graph, recent throughput.

Each reads what the ledger and the service definitions already hold; nothing here writes.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sluice.core.metrics import Metrics, TimeRange
from sluice.core.workflows import downstream
from sluice.domain.job import Job, JobStatus
from sluice.domain.service import Service

THROUGHPUT_MINUTES = 10


class Counts(Protocol):
    def service_counts(self, service: str) -> tuple[dict[str, int], int]: ...


def job_counts(ledger: Counts, service: str) -> dict[str, Any]:
    """How many of the service's shown jobs are in each state, and how many are dead letters."""
    by_status, dead = ledger.service_counts(service)
    states = {status.value: by_status.get(status.value, 0) for status in JobStatus}
    return {"states": states, "dead": dead, "total": sum(by_status.values())}


def job_row(job: Job) -> dict[str, Any]:
    """A job as the UI's tables and live events show it."""
    return {
        "service": job.service,
        "job": job.id,
        "status": job.status.value,
        "attempts": job.attempts,
        "reason": job.reason,
        "dead": job.dead,
    }


def workflow_graph(
    services: Sequence[Service], counts: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    """Services as nodes; an edge where one's output path is another's input path, labelled
    with the jobs of the service it feeds (those jobs come from the upstream's outputs)."""
    nodes = []
    for service in services:
        nodes.append(
            {
                "name": service.name,
                "inputs": [f"{item.storage_provider}:{item.path}" for item in service.input],
                "outputs": [f"{item.storage_provider}:{item.path}" for item in service.output],
                "counts": counts(service.name)["states"],
            }
        )
    edges = [
        {"from": service.name, "to": target.name, "path": _shared_path(service, target)}
        for service in services
        for target in downstream(service, [s for s in services if s.name != service.name])
    ]
    return {"nodes": nodes, "edges": edges, "depth": _depths(services)}


def _shared_path(source: Service, target: Service) -> str:
    for out in source.output:
        for watch in target.input:
            if out.feeds(watch):
                return watch.path
    return ""


def _depths(services: Sequence[Service]) -> dict[str, int]:
    """Each service's column in the picture: 0 for those nothing feeds, else one past the
    deepest service feeding it (workflows have no cycles: saving one is refused)."""
    feeders: dict[str, list[str]] = {s.name: [] for s in services}
    for service in services:
        for target in downstream(service, [s for s in services if s.name != service.name]):
            feeders[target.name].append(service.name)
    depth: dict[str, int] = {}

    def of(name: str, trail: frozenset[str]) -> int:
        if name not in depth:
            above = [of(f, trail | {name}) for f in feeders[name] if f not in trail]
            depth[name] = 1 + max(above) if above else 0
        return depth[name]

    for service in services:
        of(service.name, frozenset())
    return depth


def throughput(
    metrics: Metrics, minutes: int = THROUGHPUT_MINUTES, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Jobs that ended (succeeded, failed) and requests received, minute by minute."""
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    points = []
    for index in range(minutes, 0, -1):
        start = end - timedelta(minutes=index)
        totals = metrics.summary(TimeRange(start, start + timedelta(minutes=1)))["totals"]
        points.append(
            {
                "minute": start.isoformat().replace("+00:00", "Z"),
                "succeeded": totals["jobs_succeeded"],
                "failed": totals["jobs_failed"],
                "requests": totals["requests_count_total"],
            }
        )
    return points
