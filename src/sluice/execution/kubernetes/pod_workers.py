"""Warm handler workers inside a Kubernetes pod: started in the job container (the service's
image) through the handoff folder, talking to the supervisor over a Unix socket in the
``emptyDir`` both containers share.

The supervisor copies Sluice's ``worker_main.py`` into the shared folder, then hands the job
container's loop a ``run.sh`` that records its pid and execs the image's Python on it with
``--connect`` (the supervisor listens) and ``--log``. The pod shares one process namespace
(``shareProcessNamespace``), so the supervisor can signal the worker by that pid: a call past
its timeout kills the worker, and the pool starts another.
"""

import contextlib
import os
import shutil
import signal
import socket
import time
import uuid
from pathlib import Path

from sluice.domain.quantity import format_memory
from sluice.domain.service import Service
from sluice.errors import BackendError
from sluice.execution.kubernetes.handoff import HANDOFF, KILLED, SHARED, run_script
from sluice.procs import describe_exit
from sluice.runtimes.base import Limits, ProcessSpec
from sluice.supervisor.environment import worker_environment
from sluice.workers.channel import accept_worker
from sluice.workers.child import WorkerProcess
from sluice.workers.worker import WORKER_MAIN, HandlerWorker, WorkerSpec

CONNECT_TIMEOUT = 300.0  # seconds for the image's interpreter to start and reach the socket
DEFAULT_PYTHON = "python3"
WAIT_STEP = 0.05


class HandoffWorkerHost:
    """The pod's ``WorkerHost``: each worker is a process in the job container."""

    def __init__(self, shared: Path = SHARED, handoff: Path = HANDOFF) -> None:
        self._shared = shared
        self._handoff = handoff
        self._main = shared / "worker_main.py"

    def check(self, service: Service) -> None:
        return None  # the first worker's start says whether the handler imports in the image

    def hand_over(self, folder: Path) -> None:
        return None  # the image's user is root unless it says otherwise: it can use the folder

    def new_worker(self, service: Service, folder: Path, log_cap: int) -> HandlerWorker:
        spec = WorkerSpec(
            handler=service.handler or "",
            cwd=folder,
            env={k: v for k, v in worker_environment(service).items() if k != "PATH"},
            init=service.init,
            python=service.python or DEFAULT_PYTHON,
            memory=service.memory_bytes,
            service=service.name,
            log_cap=log_cap,
        )
        return HandlerWorker(spec, launch=self._launch)

    def _launch(self, worker: WorkerSpec) -> WorkerProcess:
        if not self._main.exists():
            shutil.copyfile(WORKER_MAIN, self._main.with_suffix(".tmp"))
            self._main.with_suffix(".tmp").rename(self._main)
        # Short: a Unix socket's path is capped at 108 bytes.
        run = self._handoff / f"w{uuid.uuid4().hex[:12]}"
        run.mkdir(parents=True)
        log_path = run / "worker.log"
        log_fd = os.open(log_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(run / "s"))
            listener.listen(1)
            argv = [worker.python, str(self._main), *worker.argv()[2:]]
            argv += ["--connect", str(run / "s"), "--log", str(log_path)]
            limits = Limits(0.0, worker.memory or 1, None)  # the job container's own
            spec = ProcessSpec(argv, worker.cwd, worker.env, limits, run / "output.log")
            (run / "run.sh").write_text(run_script(spec, pid_file=run / "pid"))
            (run / "go.tmp").touch()
            (run / "go.tmp").rename(run / "go")
            child = HandoffChild(run, worker.memory or 0)
            peer = _accept(listener, child, log_path)
        except BaseException:
            listener.close()
            os.close(log_fd)
            raise
        listener.close()
        fd = peer.fileno()
        return WorkerProcess(
            child,
            (fd, fd),
            log_fd,
            None,  # the job container's limit enforces memory
            worker.log_cap,
            close_input=lambda: peer.shutdown(socket.SHUT_WR),
            release=peer.close,
        )


def _accept(listener: socket.socket, child: "HandoffChild", log_path: Path) -> socket.socket:
    def check() -> None:
        if child.exited():
            output = _tail(log_path) or _tail(child.folder / "output.log")
            code = child.finish()
            raise BackendError(
                f"the worker exited before it connected ({describe_exit(code)}): {output}"
            )

    try:
        return accept_worker(listener, CONNECT_TIMEOUT, check)
    except BackendError:
        child.finish()
        raise


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace").strip()[-2000:]
    return ""


class HandoffChild:
    """A worker run by the job container's loop: its pid and exit status are files."""

    def __init__(self, folder: Path, memory: int) -> None:
        self.folder = folder
        self._memory = memory
        self._pid: int | None = None

    @property
    def pid(self) -> int | None:
        if self._pid is None:
            with contextlib.suppress(OSError, ValueError):
                self._pid = int((self.folder / "pid").read_text().strip())
        return self._pid

    def exited(self) -> bool:
        return (self.folder / "exit").exists()

    def signal(self, sig: int) -> None:
        pid = self.pid
        if pid is not None and not self.exited():
            with contextlib.suppress(OSError):
                os.kill(pid, sig)

    def rss(self) -> int | None:
        return None

    def finish(self) -> int:
        deadline = time.monotonic() + 10
        while not self.exited() and time.monotonic() < deadline:
            self.signal(signal.SIGKILL)
            time.sleep(WAIT_STEP)
        try:
            code = int((self.folder / "exit").read_text().strip() or "1")
        except (OSError, ValueError):
            code = -9
        shutil.rmtree(self.folder, ignore_errors=True)
        return code

    def describe_exit(self, returncode: int) -> str:
        if returncode == KILLED:
            limit = format_memory(self._memory)
            return f"exit code 137: killed, most likely for exceeding its memory limit of {limit}"
        return describe_exit(returncode)
