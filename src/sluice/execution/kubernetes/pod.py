"""The supervisor container of a Sluice pod (``handoff.py`` says how the pod is laid out)::

    python -m sluice.execution.kubernetes.pod job --task T --store S --work-dir /sluice/work
    python -m sluice.execution.kubernetes.pod serve --task T --store S --work-dir /sluice/work

``job``: one attempt of a file job (a Job's pod). Its input is downloaded, the script runs in the
job container, its outputs are uploaded, and the report is printed as the last line, one JSON
object (``succeeded``, ``exit_code``, ``reason``, ``log``), which the manager reads from the
container's log. ``serve``: a synchronous service's replica (a Deployment's pod): ``POST /run``
runs one call as ``/run`` does locally and answers with its status and body; ``GET /health``.
``T`` is a ``JobTask`` (``job``) or ``{service, token}`` (``serve``), ``S`` the object store.
"""

import argparse
import json
import socket
import sys
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from sluice.domain.parts import MinIOProvider
from sluice.domain.service import Service
from sluice.execution.kubernetes.handoff import HandoffRuntime
from sluice.storage.resolver import StorageResolver
from sluice.supervisor.run import run_call, run_job
from sluice.supervisor.task import CallTask, JobTask

DEFAULT_LOG_CAP = 1_048_576
PORT = 8080
TIMEOUT_HEADER = "X-Sluice-Timeout"  # seconds the caller still waits
STORE_PATIENCE = 60.0  # seconds a job waits for the object store before it starts


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sluice.execution.kubernetes.pod")
    parser.add_argument("command", choices=("job", "serve"))
    parser.add_argument("--task", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--log-cap", type=int, default=DEFAULT_LOG_CAP)
    parser.add_argument("--port", type=int, default=PORT)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    arguments = _arguments(argv)
    store = MinIOProvider.model_validate(json.loads(arguments.store.read_text()))
    storage = StorageResolver(store)
    arguments.work_dir.mkdir(parents=True, exist_ok=True)
    if arguments.command == "serve":
        runtime = HandoffRuntime()
        data = json.loads(arguments.task.read_text())
        service = Service.model_validate(data["service"])
        token = str(data["token"])
        _serve(
            service, token, storage, runtime, arguments.work_dir, arguments.log_cap, arguments.port
        )
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


def _serve(
    service: Service,
    token: str,
    storage: StorageResolver,
    runtime: HandoffRuntime,
    work_dir: Path,
    log_cap: int,
    port: int,
) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(200, b"ok\n")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            timeout = float(self.headers.get(TIMEOUT_HEADER) or service.timeout or 300)
            task = CallTask(service, token, body, timeout, limit=timeout)
            result = run_call(task, storage, runtime, work_dir, log_cap=log_cap)
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
