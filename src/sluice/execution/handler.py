"""Python handler services: one pool of warm workers per service, serving both ``/run`` calls
and batches of file jobs, with the model loaded once per worker by the service's ``init``.

Every worker holds its service's CPU and memory for as long as it lives (see ``WorkerPool``).
Batches in flight per service are twice the workers it may have (``synchronous.max_scale``, or
as many as the machine could hold): while one batch is in a worker, the next one's files are
downloaded, and the last one's outputs uploaded, each batch's files in parallel.
"""

import logging
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pybase64

from sluice.capacity import Capacity, Reservation, too_big
from sluice.datadir import DataDir
from sluice.domain.job import Job
from sluice.domain.results import JobReport, SyncResult
from sluice.domain.service import Service, ServiceRecord
from sluice.errors import BackendError, Invalid
from sluice.execution.base import BatchPolicy, InFlight, Reports, Slot, Workers
from sluice.execution.local import LocalExecution
from sluice.runtimes.base import Mount
from sluice.runtimes.sandbox import Sandbox
from sluice.storage.resolver import StorageResolver
from sluice.supervisor.body import Body
from sluice.supervisor.environment import worker_environment
from sluice.supervisor.response import encode_response
from sluice.supervisor.stage import stage_body, stage_in, stage_out
from sluice.supervisor.workspace import Notes, Workspace
from sluice.workers.check import check_handler
from sluice.workers.pool import NoWorkerFree, WorkerPool
from sluice.workers.worker import HandlerWorker, InvocationResult, WorkerSpec

log = logging.getLogger(__name__)

MAX_THREADS = 64
STAGING_THREADS = 16  # downloads and uploads of batches' files at once
# A warm worker idle this long (seconds) may be closed for work of another service that waits.
SHED_AFTER_IDLE = 1.0


class WorkerHost(Protocol):
    """Where a handler service's workers run: local processes, or containers of its image."""

    def check(self, service: Service) -> None:
        """Raise ``Invalid`` if the handler (or init) cannot be imported there."""
        ...

    def new_worker(self, service: Service, folder: Path, log_cap: int) -> HandlerWorker:
        """A worker, not yet started, with ``folder`` as its working directory."""
        ...

    def hand_over(self, folder: Path) -> None:
        """Give a call's folder to whoever the workers run as, before they are handed it."""
        ...


HostFor = Callable[[Service], WorkerHost]
MountsFor = Callable[[Service], tuple[Mount, ...]]  # a service's managed volumes


class HandlerExecutor:
    name = "handler"

    def __init__(
        self,
        capacity: Capacity,
        storage: StorageResolver,
        host_for: HostFor,
        data: DataDir,
        *,
        log_cap: int,
        default_timeout: float,
        idle_timeout: float = 60.0,
    ) -> None:
        self._capacity = capacity
        self._storage = storage
        self._host_for = host_for
        self._data = data
        self._log_cap = log_cap
        self._default_timeout = default_timeout
        self._idle_timeout = idle_timeout
        self._pools: dict[str, WorkerPool] = {}
        self._pools_lock = threading.Lock()  # held while a new pool starts its minimum
        self._in_flight = InFlight()  # batches per service
        self._failures: dict[str, str] = {}  # why a service's workers last failed to start
        self._threads = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="batch")
        self._staging = ThreadPoolExecutor(STAGING_THREADS, thread_name_prefix="staging")

    def check(self, service: Service) -> list[str]:
        self._host_for(service).check(service)
        return []

    def service_changed(self, old: Service | None, new: Service | None) -> None:
        """A changed or deleted service's workers go; a new minimum is started."""
        changed = old or new
        if changed is None:
            return
        with self._pools_lock:
            pool = self._pools.pop(changed.name, None)
        if pool is not None:
            pool.close()
        if new is not None and new.synchronous.min_scale > 0:
            threading.Thread(target=self._warm, args=(new,), daemon=True).start()

    def _warm(self, service: Service) -> None:
        try:
            self._pool_for(service)
        except (BackendError, Invalid) as exc:
            log.warning("cannot keep workers of %s warm: %s", service.name, exc)

    def batching(self, service: Service) -> BatchPolicy:
        return BatchPolicy(service.batch_size, service.batch_wait_ms / 1000)

    def reserve(self, service: Service) -> Slot | None:
        reason = too_big(service, self._capacity)
        if reason is not None:
            raise Invalid(reason)
        return self._in_flight.take(service.name, self._batch_slots(service))

    def _batch_slots(self, service: Service) -> int:
        if service.synchronous.max_scale > 0:
            return 2 * service.synchronous.max_scale
        return 2 * max(1, int(self._capacity.total_cpu // service.cpu_cores))

    def why_waiting(self, service: Service) -> str:
        return ""

    def start(self, slot: Slot, record: ServiceRecord, jobs: list[Job]) -> LocalExecution:
        timeout = record.service.timeout or self._default_timeout

        def work(_cancel: threading.Event) -> Reports:
            return self._run_batch(jobs, record.service, timeout)

        return LocalExecution.submit(self._threads, work, slot, [job.id for job in jobs])

    def invoke(self, record: ServiceRecord, body: Body, timeout: float) -> SyncResult:
        service = record.service
        workspace = Workspace.fresh(self._calls(service), f"{service.name}-{uuid.uuid4()}")
        try:
            input_path = stage_body(body, workspace.input_dir, "input")
            self._host_for(service).hand_over(workspace.path)
            try:
                with self._pool_for(service).acquire(timeout) as worker:
                    [result] = worker.call([(input_path, workspace.output_dir)], timeout)
            except NoWorkerFree as exc:
                return SyncResult(504, f"{exc}\n".encode())
            except BackendError as exc:
                return SyncResult(500, f"{exc}\n".encode())
            return self._answer(service, result, workspace)
        finally:
            workspace.remove()

    def _answer(
        self, service: Service, result: InvocationResult, workspace: Workspace
    ) -> SyncResult:
        if not result.ok:
            status = 504 if result.timed_out else 500
            return SyncResult(status, f"{result.error}\n{result.log}".encode())
        stage_out(service, self._storage, workspace.output_dir)
        text = result.text
        if isinstance(text, bytes):
            fallback = pybase64.b64encode(text).decode()
        else:
            fallback = text if text is not None else result.log
        return SyncResult(200, encode_response(workspace.output_dir, fallback))

    def _run_batch(self, jobs: list[Job], service: Service, timeout: float) -> list[JobReport]:
        """One handler call for a batch of file jobs; each job gets its own report and log."""
        staged: list[_Staged] = []
        reports: dict[str, JobReport] = {}
        prepared_all = self._staging.map(self._stage, jobs, [service] * len(jobs))
        for job, prepared in zip(jobs, prepared_all, strict=True):
            if isinstance(prepared, JobReport):
                reports[job.id] = prepared
            else:
                staged.append(prepared)
        items = [(item.input, item.workspace.output_dir) for item in staged]
        results = self._call(service, items, timeout)
        ended = self._staging.map(self._end, staged, results, [service] * len(staged))
        reports.update(zip([item.job.id for item in staged], ended, strict=True))
        return [reports[job.id] for job in jobs]

    def _stage(self, job: Job, service: Service) -> "_Staged | JobReport":
        """The job's input in a fresh folder its worker can use, or the report of why not."""
        workspace, notes = Workspace.fresh(self._calls(service), job.id), Notes()
        try:
            path = stage_in(job, service, self._storage, workspace.input_dir, notes)
            self._host_for(service).hand_over(workspace.path)
        except Exception as exc:
            notes.add(str(exc), "ERROR")
            workspace.remove()
            return JobReport(False, None, str(exc), notes.around("", self._log_cap))
        return _Staged(job, workspace, notes, path)

    def _end(self, item: "_Staged", result: InvocationResult, service: Service) -> JobReport:
        try:
            return self._job_report(service, item.workspace, item.notes, result, item.job.id)
        finally:
            item.workspace.remove()

    def _call(
        self, service: Service, items: list[tuple[Path, Path]], timeout: float
    ) -> list[InvocationResult]:
        if not items:
            return []
        try:
            with self._pool_for(service).acquire(timeout) as worker:
                return worker.call(items, timeout)
        except (BackendError, Invalid) as exc:
            return [InvocationResult.failed(str(exc)) for _ in items]

    def _job_report(
        self,
        service: Service,
        workspace: Workspace,
        notes: Notes,
        result: InvocationResult,
        job_id: str,
    ) -> JobReport:
        notes.add(f"Ran handler {service.handler}")
        if not result.ok:
            notes.add(f"Handler failed: {(result.error or '').strip().splitlines()[-1:]}", "ERROR")
            return JobReport(
                False,
                None,
                _last_line(result.error),
                notes.around(result.log + (result.error or ""), self._log_cap),
            )
        try:
            outputs = stage_out(service, self._storage, workspace.output_dir, job_id)
        except Exception as exc:
            notes.add(str(exc), "ERROR")
            return JobReport(False, None, str(exc), notes.around(result.log, self._log_cap))
        notes.add(f"Uploaded {len(outputs)} output file(s)")
        return JobReport(True, 0, "", notes.around(result.log, self._log_cap))

    def _calls(self, service: Service) -> Path:
        """Invocations' folders live in the service's worker folder, which its workers (in a
        container too) can see."""
        calls = self._data.workers / service.name / "calls"
        if not calls.is_dir():
            calls.mkdir(parents=True, exist_ok=True)
            self._host_for(service).hand_over(calls)
        return calls

    def _pool_for(self, service: Service) -> WorkerPool:
        with self._pools_lock:
            pool = self._pools.get(service.name)
            if pool is None:
                try:
                    pool = self._new_pool(service)
                except (BackendError, Invalid) as exc:
                    self._failures[service.name] = str(exc)
                    raise
                self._failures.pop(service.name, None)
                self._pools[service.name] = pool
        return pool

    def _new_pool(self, service: Service) -> WorkerPool:
        reason = too_big(service, self._capacity)
        if reason is not None:
            raise Invalid(reason)
        cpu, memory = service.cpu_cores, service.memory_bytes
        folder = self._data.workers / service.name
        folder.mkdir(parents=True, exist_ok=True)
        host = self._host_for(service)

        def reserve() -> Reservation | None:
            return self._capacity.try_acquire(cpu, memory)

        pool = WorkerPool(
            lambda: host.new_worker(service, folder, self._log_cap),
            min_scale=service.synchronous.min_scale,
            max_scale=service.synchronous.max_scale,
            idle_timeout=self._idle_timeout,
            reserve=reserve,
        )
        pool.start()
        return pool

    def shed_idle(self) -> bool:
        """Close one warm worker that has been idle a while (of any service, above its
        min_scale) so that its capacity can go to work that is waiting; False if none."""
        pools = list(self._pools.values())  # no lock: the caller may hold it (a pool starting)
        return any(pool.shed_idle(SHED_AFTER_IDLE) for pool in pools)

    def workers(self, service: Service) -> Workers | None:
        with self._pools_lock:
            pool = self._pools.get(service.name)
            failure = self._failures.get(service.name, "")
        if pool is None:
            return Workers(0, 0, failure) if failure else None
        stats = pool.stats()
        return Workers(stats.idle + stats.busy, stats.starting, failure)

    def close(self) -> None:
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
        self._threads.shutdown(wait=True, cancel_futures=True)
        self._staging.shutdown(wait=True, cancel_futures=True)


def _last_line(error: str | None) -> str:
    lines = (error or "handler failed").strip().splitlines()
    return lines[-1] if lines else "handler failed"


class LocalWorkerHost:
    """Workers as local processes under the service's ``python`` (Sluice's own by default),
    in ``sandbox`` when given."""

    def __init__(self, sandbox: Sandbox | None = None, mounts_for: MountsFor | None = None) -> None:
        self._sandbox = sandbox
        self._mounts_for = mounts_for or (lambda _service: ())

    def check(self, service: Service) -> None:
        check_handler(
            _python(service),
            service.handler or "",
            service.init,
            cwd=None,
            env=worker_environment(service),
            sandbox=self._sandbox,
        )

    def hand_over(self, folder: Path) -> None:
        if self._sandbox is not None:
            self._sandbox.hand_over(folder)

    def new_worker(self, service: Service, folder: Path, log_cap: int) -> HandlerWorker:
        spec = WorkerSpec(
            handler=service.handler or "",
            cwd=folder,
            env=worker_environment(service),
            init=service.init,
            python=_python(service),
            memory=service.memory_bytes,
            service=service.name,
            log_cap=log_cap,
            sandbox=self._sandbox,
            mounts=self._mounts_for(service),
        )
        return HandlerWorker(spec)


def _python(service: Service) -> str:
    return service.python or sys.executable


@dataclass(frozen=True)
class _Staged:
    """A job of a batch whose input is in place."""

    job: Job
    workspace: Workspace
    notes: Notes
    input: Path
