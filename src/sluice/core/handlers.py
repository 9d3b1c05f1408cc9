"""Python handler services: one pool of warm workers per service, serving both ``/run`` calls
and batches of file jobs, with the model loaded once per worker by the service's ``init``."""

import base64
import logging
import os
import sys
import threading
import uuid
from pathlib import Path

from sluice.core.capacity import Capacity, Reservation, too_big
from sluice.core.services import ServiceRecord
from sluice.core.storage import StorageResolver
from sluice.domain.job import Job
from sluice.domain.service import Service
from sluice.errors import BackendError, Invalid
from sluice.supervisor.event import decode_body
from sluice.supervisor.response import encode_response
from sluice.supervisor.run import JobReport, JobRunner
from sluice.supervisor.sync import SyncResult
from sluice.supervisor.workspace import Notes, Workspace, job_path, upload_outputs
from sluice.workers.pool import NoWorkerFree, WorkerPool
from sluice.workers.worker import HandlerWorker, InvocationResult, WorkerSpec

log = logging.getLogger(__name__)


def worker_environment(service: Service) -> dict[str, str]:
    env = {
        "PATH": job_path(),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "OSCAR_SERVICE_NAME": service.name,
    }
    if service.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(service.pythonpath)
    env.update(service.environment.variables)
    env.update(service.environment.secrets)
    return env


class HandlerPools:
    def __init__(
        self,
        capacity: Capacity,
        storage: StorageResolver,
        work_dir: Path,
        *,
        log_cap: int,
        idle_timeout: float = 60.0,
    ) -> None:
        self._capacity = capacity
        self._storage = storage
        self._work_dir = work_dir
        self._log_cap = log_cap
        self._idle_timeout = idle_timeout
        self._pools: dict[str, WorkerPool] = {}
        self._lock = threading.Lock()

    def check(self, service: Service) -> None:
        """Refuse a handler that cannot be imported, when the service is saved."""
        if not service.handler:
            return
        from sluice.workers.check import check_handler

        check_handler(
            service.python or sys.executable,
            service.handler,
            service.init,
            cwd=None,
            env=worker_environment(service),
        )

    def on_change(self, old: Service | None, new: Service | None) -> None:
        """A changed or deleted service's workers go; a new minimum is started."""
        changed = old or new
        if changed is None:
            return
        with self._lock:
            pool = self._pools.pop(changed.name, None)
        if pool is not None:
            pool.close()
        if new is not None and new.handler and new.synchronous.min_scale > 0:
            threading.Thread(target=self._warm, args=(new,), daemon=True).start()

    def _warm(self, service: Service) -> None:
        try:
            self.pool_for(service)
        except BackendError as exc:
            log.warning("cannot keep workers of %s warm: %s", service.name, exc)

    def pool_for(self, service: Service) -> WorkerPool:
        with self._lock:
            pool = self._pools.get(service.name)
            if pool is None:
                pool = self._new_pool(service)
                self._pools[service.name] = pool
        return pool

    def _new_pool(self, service: Service) -> WorkerPool:
        reason = too_big(service, self._capacity)
        if reason is not None:
            raise Invalid(reason)
        cpu, memory = service.cpu_cores, service.memory_bytes
        folder = self._work_dir / service.name
        folder.mkdir(parents=True, exist_ok=True)
        spec = WorkerSpec(
            handler=service.handler or "",
            cwd=folder,
            env=worker_environment(service),
            init=service.init,
            python=service.python or sys.executable,
            memory=memory,
            service=service.name,
            log_cap=self._log_cap,
        )

        def reserve() -> Reservation | None:
            return self._capacity.try_acquire(cpu, memory)

        pool = WorkerPool(
            lambda: HandlerWorker(spec),
            min_scale=service.synchronous.min_scale,
            max_scale=service.synchronous.max_scale,
            idle_timeout=self._idle_timeout,
            reserve=reserve,
        )
        pool.start()
        return pool

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def invoke(self, record: ServiceRecord, body: bytes, timeout: float) -> SyncResult:
        service = record.service
        workspace = Workspace.fresh(self._work_dir / "runs", f"{service.name}-{uuid.uuid4()}")
        try:
            input_path = workspace.input_dir / "input"
            input_path.write_bytes(decode_body(body))
            try:
                with self.pool_for(service).acquire(timeout) as worker:
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
        upload_outputs(service, self._storage, workspace.output_dir)
        text = result.text
        if isinstance(text, bytes):
            fallback = base64.b64encode(text).decode()
        else:
            fallback = text if text is not None else result.log
        return SyncResult(200, encode_response(workspace.output_dir, fallback))

    def run_batch(
        self, jobs: list[Job], record: ServiceRecord, runner: JobRunner, timeout: float
    ) -> list[JobReport]:
        """One handler call for a batch of file jobs; each job gets its own report and log."""
        service = record.service
        staged: list[tuple[Job, Workspace, Notes, Path]] = []
        reports: dict[str, JobReport] = {}
        for job in jobs:
            workspace, notes = Workspace.fresh(runner.work_dir, job.id), Notes()
            try:
                staged.append(
                    (
                        job,
                        workspace,
                        notes,
                        runner.stage_in(job, service, workspace.input_dir, notes),
                    )
                )
            except Exception as exc:
                notes.add(str(exc), "ERROR")
                reports[job.id] = JobReport(False, None, str(exc), notes.around("", self._log_cap))
                workspace.remove()
        results = self._call(service, [(path, ws.output_dir) for _, ws, _, path in staged], timeout)
        for (job, workspace, notes, _), result in zip(staged, results, strict=True):
            reports[job.id] = self._job_report(service, workspace, notes, result)
            workspace.remove()
        return [reports[job.id] for job in jobs]

    def _call(
        self, service: Service, items: list[tuple[Path, Path]], timeout: float
    ) -> list[InvocationResult]:
        if not items:
            return []
        try:
            with self.pool_for(service).acquire(timeout) as worker:
                return worker.call(items, timeout)
        except (BackendError, Invalid) as exc:
            return [InvocationResult.failed(str(exc)) for _ in items]

    def _job_report(
        self, service: Service, workspace: Workspace, notes: Notes, result: InvocationResult
    ) -> JobReport:
        notes.add(f"Ran handler {service.handler}")
        if not result.ok:
            notes.add(f"Handler failed: {(result.error or '').strip().splitlines()[-1:]}", "ERROR")
            return JobReport(
                False,
                None,
                _first_line(result.error),
                notes.around(result.log + (result.error or ""), self._log_cap),
            )
        try:
            outputs = upload_outputs(service, self._storage, workspace.output_dir)
        except Exception as exc:
            notes.add(str(exc), "ERROR")
            return JobReport(False, None, str(exc), notes.around(result.log, self._log_cap))
        notes.add(f"Uploaded {len(outputs)} output file(s)")
        return JobReport(True, 0, "", notes.around(result.log, self._log_cap))


def _first_line(error: str | None) -> str:
    lines = (error or "handler failed").strip().splitlines()
    return lines[-1] if lines else "handler failed"
