"""A warm handler worker, parent side: start it, send it batches of files, close it.

The child is ``worker_main.py`` run by path under the service's interpreter; see that
module for the protocol and ``handler_api`` for what the handler is called with.
"""

import binascii
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pybase64

from sluice.errors import BackendError
from sluice.procs import KILL_GRACE
from sluice.runtimes.base import Mount
from sluice.runtimes.sandbox import Sandbox
from sluice.workers.channel import ProtocolError
from sluice.workers.child import Stopped, WorkerProcess, spawn_local

WORKER_MAIN = Path(__file__).with_name("worker_main.py")
LOG_CAP = 65_536  # bytes of each invocation's output kept
_ERROR_TAIL = 4_000  # characters of the start-up log quoted in an error


@dataclass(frozen=True)
class WorkerSpec:
    handler: str  # "package.module:function"
    cwd: Path
    env: dict[str, str]  # the whole environment: nothing is inherited
    init: str | None = None  # "package.module:function", run once per worker
    python: str = field(default_factory=lambda: sys.executable)
    memory: int | None = None  # bytes for the worker's whole process tree; None: no limit
    service: str = ""  # passed to init as context["service"]
    log_cap: int = LOG_CAP
    sandbox: Sandbox | None = None  # runs it under bubblewrap, as the job user
    mounts: tuple[Mount, ...] = ()  # what it may write in the sandbox besides its cwd

    def argv(self) -> list[str]:
        argv = [self.python, str(WORKER_MAIN), "--handler", self.handler]
        if self.init is not None:
            argv += ["--init", self.init]
        return [*argv, "--service", self.service, "--log-cap", str(self.log_cap)]


@dataclass(frozen=True)
class InvocationResult:
    ok: bool
    error: str | None  # a traceback, or why the worker stopped
    text: str | bytes | None  # what the handler returned
    log: str  # what the handler printed, capped
    timed_out: bool = False  # the invocation ran past its timeout and the worker was killed

    @classmethod
    def failed(cls, error: str, log: str = "", timed_out: bool = False) -> "InvocationResult":
        return cls(False, error, None, log, timed_out)


Launch = Callable[[WorkerSpec], WorkerProcess]


def _launch_local(spec: WorkerSpec) -> WorkerProcess:
    argv, options = spec.argv(), {}
    if spec.sandbox is not None:
        spec.sandbox.hand_over(spec.cwd)
        mounts = (Mount(spec.cwd), *spec.mounts)
        argv = spec.sandbox.command(argv, spec.cwd, mounts, die_with_parent=False)
        options = spec.sandbox.popen_options()
    return spawn_local(argv, spec.cwd, spec.env, spec.memory, spec.log_cap, options)


class HandlerWorker:
    """One worker process; ``call`` is thread-safe and serves one request at a time."""

    def __init__(self, spec: WorkerSpec, launch: Launch | None = None) -> None:
        """``launch`` starts the worker's process (a local one by default)."""
        self.spec = spec
        self._launch = launch or _launch_local
        self._lock = threading.Lock()
        self._process: WorkerProcess | None = None
        self._dead = False  # crashed, killed or closed: never used again
        self._invocations = 0
        self._request_id = 0

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def alive(self) -> bool:
        process = self._process
        return process is not None and not self._dead and not process.exited

    @property
    def invocations(self) -> int:
        return self._invocations

    @property
    def peak_memory(self) -> int:
        """Bytes; sampled only while waiting on the worker, and only under a memory limit."""
        return 0 if self._process is None else self._process.peak_memory

    def start(self, timeout: float) -> None:
        """Spawn the worker and wait until it has imported the handler and run ``init``."""
        with self._lock:
            if self._process is not None or self._dead:
                raise BackendError("a worker can be started only once")
            spec = self.spec
            process = self._launch(spec)
            self._process = process
            try:
                message = process.receive(timeout)
            except Stopped as stop:
                self._dead = True
                raise BackendError(self._start_failure(stop.reason, stop.log)) from None
            if message.get("ready") is not True:
                log = process.log_text()
                self._dead = True
                process.close()
                raise BackendError(self._start_failure(str(message.get("error")), log))

    def _start_failure(self, reason: str, log: str) -> str:
        message = f"worker for handler {self.spec.handler!r} did not start: {reason}"
        log = log.strip()
        if log:
            message += f"\n--- worker output ---\n{log[-_ERROR_TAIL:]}"
        return message

    def call(
        self, items: list[tuple[Path, Path]], timeout: float | None = None
    ) -> list[InvocationResult]:
        """Run the handler on each ``(input_file, output_dir)``; one result per item."""
        if not items:
            return []
        with self._lock:
            process = self._process
            if process is None or self._dead:
                raise BackendError("the worker is not running")
            self._request_id += 1
            request = {
                "id": self._request_id,
                "items": [{"input": str(i), "output_dir": str(o)} for i, o in items],
            }
            try:
                results = self._exchange(process, request, timeout)
            except Stopped as stop:
                self._dead = True
                results = [
                    InvocationResult.failed(stop.reason, stop.log, stop.timed_out) for _ in items
                ]
            self._invocations += len(items)
            return results

    def _exchange(
        self, process: WorkerProcess, request: dict[str, Any], timeout: float | None
    ) -> list[InvocationResult]:
        process.send(request)
        message = process.receive(timeout)
        try:
            return _parse_results(message, request["id"], len(request["items"]))
        except ProtocolError as exc:
            raise process.kill(f"worker crashed: protocol error: {exc}") from None

    def close(self) -> None:
        """End the worker: stdin closed, then SIGTERM, then SIGKILL its process group. A
        call in flight on another thread fails with "worker crashed"."""
        self._dead = True
        if not self._lock.acquire(blocking=False):
            self._interrupt()
        try:
            if self._process is not None:
                self._process.close()
        finally:
            self._lock.release()

    def _interrupt(self) -> None:
        """Make a call in flight return by ending the worker under it; takes the lock."""
        process = self._process
        if process is not None:
            process.signal(signal.SIGTERM)
            if self._lock.acquire(timeout=KILL_GRACE):
                return
            process.signal(signal.SIGKILL)
        self._lock.acquire()


def _parse_results(message: dict[str, Any], request_id: int, count: int) -> list[InvocationResult]:
    if message.get("id") != request_id:
        raise ProtocolError(f"expected the answer to request {request_id}, got {message!r:.200}")
    results = message.get("results")
    if not isinstance(results, list) or len(results) != count:
        raise ProtocolError(f"expected {count} results")
    return [_parse_result(result) for result in results]


def _parse_result(result: object) -> InvocationResult:
    if not isinstance(result, dict):
        raise ProtocolError("a result must be a JSON object")
    ok, error, text, log = (result.get(key) for key in ("ok", "error", "text", "log"))
    if not isinstance(ok, bool) or not isinstance(log, str):
        raise ProtocolError("a result needs 'ok' and 'log'")
    if not isinstance(error, str | None) or not isinstance(text, str | None):
        raise ProtocolError("'error' and 'text' must be strings or null")
    if text is None or result.get("binary") is not True:
        return InvocationResult(ok, error, text, log)
    try:
        return InvocationResult(ok, error, pybase64.b64decode(text, validate=True), log)
    except binascii.Error as exc:
        raise ProtocolError("binary text is not base64") from exc
