"""An executor that runs nothing: it records what it was asked and ends work the way a test
says. For in-process tests of the dispatcher, the job façade and the routes."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sluice.domain.job import Job
from sluice.domain.results import JobReport, SyncResult
from sluice.domain.service import Service, ServiceRecord
from sluice.errors import Invalid
from sluice.execution.base import BatchPolicy, Reports, Slot, Workers
from sluice.supervisor.body import Body

Outcome = Callable[[Job], JobReport]


def succeed(job: Job) -> JobReport:
    return JobReport(True, 0, "", f"ran {job.id}\n")


@dataclass
class FakeExecution:
    service: str
    jobs: list[Job]
    slot: Slot
    cancelled: bool = False
    _reports: Reports | None = None
    _callbacks: list[Callable[[Reports], None]] = field(default_factory=list)
    _done: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def job_ids(self) -> list[str]:
        return [job.id for job in self.jobs]

    def finish(self, reports: Reports) -> None:
        """End it: the slot is given back, then the callbacks run (in this thread)."""
        with self._lock:
            if self._reports is not None:
                return
            self._reports = reports
            callbacks = list(self._callbacks)
        self.slot.release()
        self._done.set()
        for callback in callbacks:
            callback(reports)

    def wait(self, timeout: float | None = None) -> Reports | None:
        self._done.wait(timeout)
        return self._reports

    def add_done_callback(self, callback: Callable[[Reports], None]) -> None:
        with self._lock:
            reports = self._reports
            if reports is None:
                self._callbacks.append(callback)
                return
        callback(reports)

    def cancel(self) -> None:
        self.cancelled = True
        self.finish([JobReport(False, None, "cancelled") for _ in self.jobs])

    def live_log(self, job_id: str) -> str | None:
        return None if self._reports is not None else f"{job_id} is running\n"


class _Counted:
    def __init__(self, release: Callable[[], None]) -> None:
        self._release: Callable[[], None] | None = release

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


class FakeExecutor:
    """``slots`` jobs (or batches) of one service run at once. With ``hold``, work stays
    running until the test calls ``finish``; otherwise ``outcome`` ends each job at once."""

    name = "fake"

    def __init__(
        self,
        *,
        slots: int = 4,
        outcome: Outcome = succeed,
        hold: bool = False,
        refuse: Callable[[Service], str | None] = lambda _service: None,
        answer: Callable[[ServiceRecord, bytes], SyncResult] | None = None,
    ) -> None:
        self.slots = slots
        self.outcome = outcome
        self.hold = hold
        self.refuse = refuse
        self.answer = answer or (lambda _record, body: SyncResult(200, body))
        self.started: list[FakeExecution] = []
        self.changes: list[tuple[Service | None, Service | None]] = []
        self.calls: list[tuple[str, bytes, float]] = []
        self.warnings: list[str] = []
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()
        self._started = threading.Condition(self._lock)

    def check(self, service: Service) -> list[str]:
        return list(self.warnings)

    def service_changed(self, old: Service | None, new: Service | None) -> None:
        self.changes.append((old, new))

    def batching(self, service: Service) -> BatchPolicy:
        return BatchPolicy(service.batch_size, service.batch_wait_ms / 1000)

    def reserve(self, service: Service) -> Slot | None:
        reason = self.refuse(service)
        if reason is not None:
            raise Invalid(reason)
        name = service.name
        with self._lock:
            if self._running.get(name, 0) >= self.slots:
                return None
            self._running[name] = self._running.get(name, 0) + 1
        return _Counted(lambda: self._release(name))

    def _release(self, name: str) -> None:
        with self._lock:
            self._running[name] -= 1

    def why_waiting(self, service: Service) -> str:
        with self._lock:
            full = self._running.get(service.name, 0) >= self.slots
        return f"all {self.slots} fake slots busy" if full else ""

    def start(self, slot: Slot, record: ServiceRecord, jobs: list[Job]) -> FakeExecution:
        execution = FakeExecution(record.service.name, jobs, slot)
        with self._started:
            self.started.append(execution)
            self._started.notify_all()
        if not self.hold:
            threading.Thread(
                target=lambda: execution.finish([self.outcome(job) for job in jobs]), daemon=True
            ).start()
        return execution

    def wait_started(self, count: int, timeout: float = 10.0) -> list[FakeExecution]:
        """Block until at least ``count`` executions have started; all of them so far."""
        with self._started:
            if not self._started.wait_for(lambda: len(self.started) >= count, timeout):
                raise TimeoutError(f"{len(self.started)} of {count} executions started")
            return list(self.started)

    def running(self, service: str) -> int:
        with self._lock:
            return self._running.get(service, 0)

    def invoke(self, record: ServiceRecord, body: Body, timeout: float) -> SyncResult:
        data = body if isinstance(body, bytes) else body.read_bytes()
        self.calls.append((record.service.name, data, timeout))
        return self.answer(record, data)

    def workers(self, service: Service) -> Workers | None:
        return None

    def close(self) -> None:
        for execution in list(self.started):
            if execution.wait(0) is None:
                execution.cancel()
