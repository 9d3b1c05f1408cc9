"""One executor made of two: handler services go to one, script services to the other. The
only place that asks which kind a service is."""

from sluice.domain.job import Job
from sluice.domain.results import SyncResult
from sluice.domain.service import Service, ServiceRecord
from sluice.execution.base import BatchPolicy, Execution, Executor, Slot, Workers
from sluice.supervisor.body import Body


class ByKind:
    name = "by-kind"

    def __init__(self, script: Executor, handler: Executor) -> None:
        self.script = script
        self.handler = handler

    def _for(self, service: Service) -> Executor:
        return self.handler if service.handler else self.script

    def check(self, service: Service) -> list[str]:
        return self._for(service).check(service)

    def service_changed(self, old: Service | None, new: Service | None) -> None:
        # A service may change kind on update: the old kind tears down, the new one starts.
        if old is not None and (new is None or self._for(old) is not self._for(new)):
            self._for(old).service_changed(old, None)
            old = None
        if new is not None:
            self._for(new).service_changed(old, new)

    def batching(self, service: Service) -> BatchPolicy:
        return self._for(service).batching(service)

    def reserve(self, service: Service) -> Slot | None:
        return self._for(service).reserve(service)

    def why_waiting(self, service: Service) -> str:
        return self._for(service).why_waiting(service)

    def start(self, slot: Slot, record: ServiceRecord, jobs: list[Job]) -> Execution:
        return self._for(record.service).start(slot, record, jobs)

    def invoke(self, record: ServiceRecord, body: Body, timeout: float) -> SyncResult:
        return self._for(record.service).invoke(record, body, timeout)

    def workers(self, service: Service) -> Workers | None:
        return self._for(service).workers(service)

    def close(self) -> None:
        self.script.close()
        self.handler.close()
