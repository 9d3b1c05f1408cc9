"""``/system/services/{name}/deployment[/logs]``: a service's runtime in OSCAR's vocabulary.

Sluice serves ``/run`` for every service, as OSCAR does with its Knative backend, so every
service reports the ``knative_service`` kind. A script service starts a process per call and
job (scale to zero): it is always ready, and its active instances are its running jobs. A
handler service keeps warm workers: it is ready with at least ``min_scale`` of them, pending
while they start, degraded or failed when fewer run. Logs are those of the latest jobs: Sluice
has no long-running deployment whose output could be read.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sluice.domain.service import Service
from sluice.execution.base import Workers

KIND = "knative_service"
DEFAULT_TAIL, MAX_TAIL = 200, 1000  # OSCAR's tailLines default and cap
JOBS_FOR_LOGS = 5
_SUPERVISOR_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


# The seam to the execution side: a service's warm workers, None when it keeps none.
WorkerProbe = Callable[[Service], Workers | None]


@dataclass(frozen=True)
class Deployment:
    state: str
    reason: str
    active_instances: int
    affected_instances: int


class DeploymentViews:
    def __init__(
        self,
        workers: WorkerProbe,
        running_jobs: Callable[[str], int],
        latest_logs: Callable[[str, int], list[tuple[str, str]]],
        namespace: str,
    ) -> None:
        self._workers = workers
        self._running_jobs = running_jobs
        self._latest_logs = latest_logs
        self._namespace = namespace

    def summary(self, service: Service) -> dict[str, Any]:
        """OSCAR's ``ServiceDeploymentSummary`` (``GET /system/services?include=deployment``)."""
        deployment = self._inspect(service)
        return {
            "state": deployment.state,
            "reason": deployment.reason,
            "active_instances": deployment.active_instances,
            "affected_instances": deployment.affected_instances,
            "resource_kind": KIND,
        }

    def status(self, service: Service) -> dict[str, Any]:
        """OSCAR's ``ServiceDeploymentStatus``."""
        return {"service_name": service.name, "namespace": self._namespace, **self.summary(service)}

    def logs(self, service: Service, timestamps: bool, tail_lines: int) -> dict[str, Any]:
        """OSCAR's ``DeploymentLogStream``: the last lines of the service's latest jobs."""
        tail = DEFAULT_TAIL if tail_lines < 1 else min(tail_lines, MAX_TAIL)
        lines = [
            line
            for _, log in self._latest_logs(service.name, JOBS_FOR_LOGS)
            for line in log.splitlines()
            if line.strip()
        ][-tail:]
        body: dict[str, Any] = {"service_name": service.name, "available": bool(lines)}
        if not lines:
            body["message"] = "No job of this service has run yet; its logs appear here after one."
        else:
            body["message"] = "Logs of the service's latest jobs (Sluice runs no long-lived pods)."
        body["entries"] = [_entry(line, timestamps) for line in lines]
        return body

    def _inspect(self, service: Service) -> Deployment:
        if not service.handler:
            running = self._running_jobs(service.name)
            return Deployment(
                "ready", "Runs a new process for each call and job (scale to zero).", running, 0
            )
        return worker_state(service.synchronous.min_scale, self._workers(service))


def worker_state(minimum: int, counts: Workers | None) -> Deployment:
    """The state of a handler service that should keep ``minimum`` warm workers."""
    ready = counts.ready if counts else 0
    starting = counts.starting if counts else 0
    live = ready + starting
    if ready >= minimum:
        reason = (
            f"{ready} warm worker(s) ready."
            if ready
            else "Scaled to zero; a worker starts with the next call or job."
        )
        return Deployment("ready", reason, live, 0)
    missing = minimum - ready
    if counts is None:
        # No pool yet: its first workers are starting, or failed to (the Sluice log says why).
        reason = f"Starting workers: 0 of {minimum} ready; a start failure is in the Sluice log."
        return Deployment("pending", reason, 0, 0)
    if starting:
        return Deployment("pending", f"Starting workers: {ready} of {minimum} ready.", live, 0)
    if counts.failure:
        return Deployment("failed", f"Workers cannot start: {counts.failure}", live, missing)
    if ready:
        return Deployment(
            "degraded", f"{missing} of {minimum} instances are affected.", live, missing
        )
    return Deployment(
        "failed",
        f"No worker is running though min_scale is {minimum}; the handler may fail to start.",
        live,
        missing,
    )


def _entry(line: str, timestamps: bool) -> dict[str, str]:
    entry = {"message": line}
    match = _SUPERVISOR_STAMP.match(line)
    if timestamps and match:
        stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        entry["timestamp"] = f"{stamp.isoformat().replace('+00:00', '')}.{match.group(2)}Z"
    return entry
