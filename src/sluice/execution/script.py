"""Script services: every file job and every ``/run`` call is one run of ``/bin/sh script.sh``,
here, on the runtime the service asks for (a local process, or a container of its image)."""

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from sluice.capacity import Capacity, Reservation, too_big
from sluice.datadir import DataDir
from sluice.domain.job import Job
from sluice.domain.quantity import format_memory
from sluice.domain.results import JobReport, SyncResult
from sluice.domain.service import Service, ServiceRecord
from sluice.errors import Invalid, SluiceError
from sluice.execution.base import BatchPolicy, Reports, Slot, Workers
from sluice.execution.local import LocalExecution
from sluice.runtimes.base import Mount, RunResult, Runtime
from sluice.runtimes.process import ProcessRuntime
from sluice.storage.resolver import StorageResolver
from sluice.supervisor.body import Body
from sluice.supervisor.run import PreparedJob, prepare_job, run_call, run_job
from sluice.supervisor.task import CallTask, JobTask

CAPACITY_POLL = 0.02  # seconds between tries while a /run call waits for capacity
MAX_THREADS = 64  # jobs staging files at once (a job waiting for its process holds none)
CLOSE_WAIT = 10.0  # seconds a cancelled job gets to end when the executor closes

RuntimeFor = Callable[[Service], Runtime]
Advice = Callable[[Service], list[str]]
MountsFor = Callable[[Service], tuple[Mount, ...]]  # a service's managed volumes


class ScriptExecutor:
    """Each job reserves its service's CPU and memory from ``capacity`` while it runs;
    ``synchronous.max_scale`` caps how many ``/run`` calls of one service run at once."""

    name = "script"

    def __init__(
        self,
        capacity: Capacity,
        storage: StorageResolver,
        runtime_for: RuntimeFor,
        data: DataDir,
        *,
        log_cap: int,
        default_timeout: float,
        advise: Advice | None = None,
        mounts_for: MountsFor | None = None,
    ) -> None:
        self._capacity = capacity
        self._storage = storage
        self._runtime_for = runtime_for
        self._data = data
        self._log_cap = log_cap
        self._default_timeout = default_timeout
        self._advise = advise
        self._mounts_for = mounts_for or (lambda _service: ())
        self._pool = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="job")
        self._slots: dict[str, tuple[int, threading.BoundedSemaphore]] = {}
        self._watched: set[LocalExecution] = set()  # jobs whose processes the runtime watches
        self._lock = threading.Lock()

    def check(self, service: Service) -> list[str]:
        return self._advise(service) if self._advise is not None else []

    def service_changed(self, old: Service | None, new: Service | None) -> None:
        return None

    def batching(self, service: Service) -> BatchPolicy:
        return BatchPolicy()

    def reserve(self, service: Service) -> Reservation | None:
        reason = too_big(service, self._capacity)
        if reason is not None:
            raise Invalid(reason)
        return self._capacity.try_acquire(service.cpu_cores, service.memory_bytes)

    def why_waiting(self, service: Service) -> str:
        capacity = self._capacity
        fits = (
            service.cpu_cores <= capacity.free_cpu and service.memory_bytes <= capacity.free_memory
        )
        if fits:
            return ""
        return (
            f"waiting for capacity: each job needs {service.cpu} CPU and {service.memory}; "
            f"free now: {capacity.free_cpu:g} CPU and {format_memory(capacity.free_memory)}"
        )

    def start(self, slot: Slot, record: ServiceRecord, jobs: list[Job]) -> LocalExecution:
        [job] = jobs
        service = record.service
        task = JobTask(job, service, record.token, self._timeout(service))
        runtime = self._runtime_for(service)
        log_paths = {job.id: self._data.job_log(job.id)}
        if isinstance(runtime, ProcessRuntime):
            return self._start_watched(slot, task, runtime, log_paths)

        def work(cancel: threading.Event) -> Reports:
            report = run_job(
                task,
                self._storage,
                runtime,
                self._data.jobs,
                log_cap=self._log_cap,
                cancel=cancel,
                mounts=self._mounts_for(service),
            )
            return [report]

        return LocalExecution.submit(self._pool, work, slot, [job.id], log_paths)

    def _start_watched(
        self, slot: Slot, task: JobTask, runtime: ProcessRuntime, log_paths: dict[str, Path]
    ) -> LocalExecution:
        """A job of the process runtime holds a thread only while its files are staged: in
        between, its process is one of many the runtime's watcher thread waits for."""
        execution = LocalExecution([task.job.id], log_paths, slot)
        mounts = self._mounts_for(task.service)

        def prepare() -> None:
            try:
                prepared = prepare_job(
                    task, self._storage, self._data.jobs, log_cap=self._log_cap, mounts=mounts
                )
                if isinstance(prepared, JobReport):
                    execution.finish([prepared])
                    return
                try:
                    runtime.start(prepared.spec, execution.cancel_event, ended(prepared))
                except SluiceError as exc:
                    execution.finish([prepared.failed(exc)])
            except Exception:
                execution.crashed()

        def ended(prepared: PreparedJob) -> Callable[[RunResult], None]:
            def complete(result: RunResult) -> None:
                try:
                    execution.finish([prepared.complete(result, self._storage)])
                except Exception:
                    execution.crashed()

            return lambda result: self._submit(complete, result, execution)  # not on the watcher

        try:
            self._pool.submit(prepare)
        except RuntimeError:  # the pool is shut down: we are stopping
            slot.release()
            raise
        with self._lock:
            self._watched.add(execution)
        execution.add_done_callback(lambda _reports: self._forget(execution))
        return execution

    def _submit(
        self, step: Callable[[RunResult], None], result: RunResult, execution: LocalExecution
    ) -> None:
        try:
            self._pool.submit(step, result)
        except RuntimeError:  # the pool is shut down: we are stopping
            execution.finish([JobReport(False, None, "cancelled: the manager is stopping")])

    def _forget(self, execution: LocalExecution) -> None:
        with self._lock:
            self._watched.discard(execution)

    def invoke(self, record: ServiceRecord, body: Body, timeout: float) -> SyncResult:
        service = record.service
        deadline = time.monotonic() + timeout
        with self._call_slot(service, deadline) as got_slot:
            if not got_slot:
                return _too_slow(service, timeout)
            reservation = self._wait_for_capacity(service, deadline)
            if reservation is None:
                return _too_slow(service, timeout)
            with reservation:
                remaining = max(0.1, deadline - time.monotonic())
                task = CallTask(service, record.token, body, remaining, limit=timeout)
                runtime = self._runtime_for(service)
                mounts = self._mounts_for(service)
                runs = self._data.runs
                return run_call(
                    task, self._storage, runtime, runs, log_cap=self._log_cap, mounts=mounts
                )

    @contextmanager
    def _call_slot(self, service: Service, deadline: float) -> Iterator[bool]:
        limit = service.synchronous.max_scale
        if limit <= 0:
            yield True
            return
        with self._lock:
            size, slot = self._slots.get(service.name, (0, None))
            if slot is None or size != limit:  # new, or max_scale changed by an update
                slot = threading.BoundedSemaphore(limit)
                self._slots[service.name] = (limit, slot)
        acquired = slot.acquire(timeout=max(0.0, deadline - time.monotonic()))
        try:
            yield acquired
        finally:
            if acquired:
                slot.release()

    def _wait_for_capacity(self, service: Service, deadline: float) -> Reservation | None:
        while time.monotonic() < deadline:
            reservation = self.reserve(service)
            if reservation is not None:
                return reservation
            time.sleep(CAPACITY_POLL)
        return None

    def _timeout(self, service: Service) -> float:
        return service.timeout or self._default_timeout

    def workers(self, service: Service) -> Workers | None:
        return None  # a fresh run per job or call: nothing is kept warm

    def close(self) -> None:
        with self._lock:
            watched = list(self._watched)
        for execution in watched:  # their processes are not the pool's: end them first
            execution.cancel()
            execution.wait(CLOSE_WAIT)
        self._pool.shutdown(wait=True, cancel_futures=True)


def _too_slow(service: Service, timeout: float) -> SyncResult:
    message = f"service {service.name!r} had no free capacity within {timeout:g} s\n"
    return SyncResult(504, message.encode())
