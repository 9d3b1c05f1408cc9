"""Lineage: for any object, the chain of files and jobs that produced it, as far as this
cluster knows it. Each step is an object and the job that wrote it; the walk goes from a job to
its input, and stops at an object no job here wrote (an upload, or another cluster's output:
the CLI then asks the other clusters, which answer for the store and path it names)."""

import contextlib
from typing import Any

from sluice.core.services import ServiceManager
from sluice.domain.job import Job
from sluice.domain.topology import provider_store, store_name
from sluice.errors import NotFound
from sluice.state.jobs import JobLedger
from sluice.state.lineage import DELEGATED_FROM, DELEGATED_TO, LineageStore, Trace

MAX_STEPS = 64  # a chain longer than this is cut (loops are refused, but be safe)


class LineageView:
    def __init__(
        self, lineage: LineageStore, ledger: JobLedger, services: ServiceManager, own_store: str
    ) -> None:
        self._lineage = lineage
        self._ledger = ledger
        self._services = services
        self.own_store = own_store

    def trace(self, path: str, store: str = "") -> dict[str, Any]:
        """``{"store", "steps": [{"object": {store, path}, "job": {...} | None}]}``."""
        current = (store_name(store) if store else self.own_store, path.strip("/"))
        steps: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        while current not in seen and len(steps) < MAX_STEPS:
            seen.add(current)
            writers = self._lineage.writers(*current)
            job = self._job(writers[0]) if writers else None
            steps.append({"object": {"store": current[0], "path": current[1]}, "job": job})
            if job is None or job["input"] is None:
                break
            current = (job["input"]["store"], job["input"]["path"])
        return {"store": self.own_store, "steps": steps}

    def _job(self, trace: Trace) -> dict[str, Any]:
        try:
            job: Job | None = self._ledger.load(trace.job_id)
        except NotFound:
            job = None
        view: dict[str, Any] = {
            "id": trace.job_id,
            "service": trace.service,
            "cluster": self._cluster_of(trace.service),
            "status": job.status.value if job else "",
            "input": self._input(job, trace.service) if job else None,
        }
        for other in self._lineage.of_job(trace.job_id):
            if other.kind in (DELEGATED_FROM, DELEGATED_TO):
                view[other.kind] = {"cluster": other.peer, "job": other.peer_job}
        return view

    def _input(self, job: Job, service: str) -> dict[str, Any] | None:
        if job.source is None:
            return None
        definition: dict[str, Any] = {}
        with contextlib.suppress(NotFound):
            definition = self._services.get(service).service.model_dump()
        store = provider_store(definition, job.source.provider, self.own_store)
        path = f"{job.source.bucket}/{job.source.key}"
        return {"provider": job.source.provider, "store": store or "", "path": path}

    def _cluster_of(self, service: str) -> str:
        try:
            return self._services.get(service).service.cluster_id
        except NotFound:
            return ""
