"""The supervisor container of a Sluice pod (``handoff.py`` says how the pod is laid out)::

    python -m sluice.execution.kubernetes.pod job --task T --store S --work-dir /sluice/work
    python -m sluice.execution.kubernetes.pod serve --task T --store S --work-dir /sluice/work

``job``: one attempt of a file job (a Job's pod). Its input is downloaded, the script runs in the
job container, its outputs are uploaded, and the report is printed as the last line, one JSON
object (``succeeded``, ``exit_code``, ``reason``, ``log``), which the manager reads from the
container's log. ``serve``: a synchronous service's replica (a Deployment's pod): ``POST /run``
runs one call as ``/run`` does locally and answers with its status and body; ``GET /health``.
A handler service's replica keeps one warm worker in the job container (``pod_workers.py``)
and also answers ``POST /jobs``: a batch of file jobs (``{"jobs": [JobTask, ...]}``) run by
that worker, answered with ``{"reports": [report, ...]}`` in the same order; its ``/health``
answers once the worker has started (or failed to: calls then say why).
``T`` is a ``JobTask`` (``job``) or ``{service, token}`` (``serve``), ``S`` the object store.
"""

import argparse
import json
import socket
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from sluice.capacity import MachineCapacity
from sluice.datadir import DataDir
from sluice.domain.parts import MinIOProvider
from sluice.domain.results import JobReport, SyncResult
from sluice.domain.service import Service, ServiceRecord
from sluice.execution.base import ReleaseOnce
from sluice.execution.handler import HandlerExecutor
from sluice.execution.kubernetes.handoff import HandoffRuntime
from sluice.execution.kubernetes.pod_workers import HandoffWorkerHost
from sluice.storage.resolver import StorageResolver
from sluice.supervisor.run import run_call, run_job
from sluice.supervisor.task import CallTask, JobTask

DEFAULT_LOG_CAP = 1_048_576
PORT = 8080
TIMEOUT_HEADER = "X-Sluice-Timeout"  # seconds the caller still waits
STORE_PATIENCE = 60.0  # seconds a job waits for the object store before it starts
DEFAULT_TIMEOUT = 300.0
NEVER_IDLE = 10.0**9  # a replica's worker lives as long as the replica


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sluice.execution.kubernetes.pod")
    parser.add_argument("command", choices=("job", "serve"))
    parser.add_argument("--task", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--log-cap", type=int, default=DEFAULT_LOG_CAP)
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--default-timeout", type=float, default=DEFAULT_TIMEOUT)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    arguments = _arguments(argv)
    store = MinIOProvider.model_validate(json.loads(arguments.store.read_text()))
    storage = StorageResolver(store)
    arguments.work_dir.mkdir(parents=True, exist_ok=True)
    if arguments.command == "serve":
        data = json.loads(arguments.task.read_text())
        service = Service.model_validate(data["service"])
        token = str(data["token"])
        replica: Replica
        if service.handler:
            replica = HandlerReplica(
                service,
                token,
                storage,
                arguments.work_dir,
                arguments.log_cap,
                arguments.default_timeout,
            )
        else:
            replica = ScriptReplica(service, token, storage, arguments.work_dir, arguments.log_cap)
        _serve(replica, arguments.port, service.timeout or arguments.default_timeout)
        return 0
    runtime = HandoffRuntime(echo=sys.stdout.buffer)  # the pod's log: the live log
    task = JobTask.from_json(json.loads(arguments.task.read_text()))
    _wait_for_store(store.endpoint)
    try:
        report = run_job(task, storage, runtime, arguments.work_dir, log_cap=arguments.log_cap)
    finally:
        runtime.finish()
    sys.stdout.write(json.dumps(asdict(report)) + "\n")
    sys.stdout.flush()
    return 0 if report.succeeded else 1


def _wait_for_store(endpoint: str, patience: float = STORE_PATIENCE) -> None:
    """Wait (a while) for the object store to accept connections: the manager's embedded
    store and its forwarder are away while the manager restarts, and a pod that starts then
    would fail its attempt for nothing."""
    address = urlsplit(endpoint)
    port = address.port or (443 if address.scheme == "https" else 80)
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            socket.create_connection((address.hostname or "", port), timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)


class Replica(Protocol):
    def ready(self) -> bool: ...

    def run(self, body: bytes, timeout: float) -> SyncResult: ...

    def jobs(self, tasks: list[JobTask]) -> list[JobReport]: ...


class ScriptReplica:
    """A script service's replica: each call runs the script in the job container."""

    def __init__(
        self, service: Service, token: str, storage: StorageResolver, work_dir: Path, log_cap: int
    ) -> None:
        self._service, self._token, self._storage = service, token, storage
        self._work_dir, self._log_cap = work_dir, log_cap
        self._runtime = HandoffRuntime()

    def ready(self) -> bool:
        return True

    def run(self, body: bytes, timeout: float) -> SyncResult:
        task = CallTask(self._service, self._token, body, timeout, limit=timeout)
        return run_call(task, self._storage, self._runtime, self._work_dir, log_cap=self._log_cap)

    def jobs(self, tasks: list[JobTask]) -> list[JobReport]:
        raise ValueError("a script service's file jobs run as Jobs, not on its replicas")


class HandlerReplica:
    """A handler service's replica: one warm worker in the job container, through the same
    ``HandlerExecutor`` as on a machine, sized to exactly one worker."""

    def __init__(
        self,
        service: Service,
        token: str,
        storage: StorageResolver,
        work_dir: Path,
        log_cap: int,
        default_timeout: float,
        host: HandoffWorkerHost | None = None,
    ) -> None:
        scale = service.synchronous.model_copy(update={"min_scale": 1, "max_scale": 1})
        self._service = service.model_copy(update={"synchronous": scale})
        self._record = ServiceRecord(self._service, token, "", datetime.now(UTC))
        host = host or HandoffWorkerHost()
        self._executor = HandlerExecutor(
            MachineCapacity(service.cpu_cores, service.memory_bytes),
            storage,
            lambda _service: host,
            DataDir(work_dir),
            log_cap=log_cap,
            default_timeout=default_timeout,
            idle_timeout=NEVER_IDLE,
        )
        self._executor.service_changed(None, self._service)  # starts the worker

    def close(self) -> None:
        self._executor.close()

    def ready(self) -> bool:
        workers = self._executor.workers(self._service)
        return workers is not None and (workers.ready > 0 or bool(workers.failure))

    def run(self, body: bytes, timeout: float) -> SyncResult:
        return self._executor.invoke(self._record, body, timeout)

    def jobs(self, tasks: list[JobTask]) -> list[JobReport]:
        no_slot = ReleaseOnce(lambda: None)  # the replica holds its worker's capacity itself
        execution = self._executor.start(no_slot, self._record, [task.job for task in tasks])
        return list(execution.wait() or [])


def _serve(replica: Replica, port: int, default_timeout: float) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if replica.ready():
                self._answer(200, b"ok\n")
            else:
                self._answer(503, b"the worker is starting\n")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            timeout = float(self.headers.get(TIMEOUT_HEADER) or default_timeout)
            if self.path == "/jobs":
                try:
                    tasks = [JobTask.from_json(task) for task in json.loads(body)["jobs"]]
                    reports = replica.jobs(tasks)
                except (ValueError, KeyError, TypeError) as exc:
                    self._answer(400, f"{exc}\n".encode())
                    return
                answer = {"reports": [asdict(report) for report in reports]}
                self._answer(200, json.dumps(answer).encode())
                return
            result = replica.run(body, timeout)
            self._answer(result.status, result.body)

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104 (the pod's own address)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
