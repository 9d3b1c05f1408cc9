"""Warm handler workers in containers of the service's image, speaking the same protocol as
local workers, over a Unix socket in a folder shared with the container (the container's stdio
belongs to the engine).

The image needs a Python 3.8+ interpreter (``python3`` on its ``PATH``, or the service's
``python``) and the handler's own dependencies; Sluice's worker program and the service's
``pythonpath`` folders are mounted read-only, so Sluice itself need not be in the image.
"""

import contextlib
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

import docker.errors
from docker.models.containers import Container
from requests.exceptions import RequestException

from sluice.domain.quantity import format_memory
from sluice.domain.service import Service
from sluice.errors import BackendError, Invalid
from sluice.execution.handler import MountsFor
from sluice.procs import describe_exit
from sluice.runtimes.base import Limits, Mount, ProcessSpec
from sluice.runtimes.container import (
    OOM_EXIT,
    ContainerEngine,
    container_options,
    remove,
)
from sluice.supervisor.environment import worker_environment
from sluice.workers.channel import accept_worker
from sluice.workers.check import check_command, read_check_answer
from sluice.workers.child import WorkerProcess
from sluice.workers.worker import WORKER_MAIN, HandlerWorker, WorkerSpec

INSIDE = Path("/run/sluice-worker")  # where the shared channel folder appears in the container
CONNECT_TIMEOUT = 60.0  # seconds for the interpreter in the container to reach the socket
CHECK_TIMEOUT = 60.0
DEFAULT_PYTHON = "python3"


def _python(service: Service) -> str:
    return service.python or DEFAULT_PYTHON


def _mounts(service: Service, folder: Path | None) -> tuple[Mount, ...]:
    mounts = [Mount(WORKER_MAIN, read_only=True)]
    mounts += [Mount(Path(entry), read_only=True) for entry in service.pythonpath]
    if folder is not None:
        mounts.append(Mount(folder))
    return tuple(mounts)


class ContainerWorkerHost:
    def __init__(self, engine: ContainerEngine, mounts_for: MountsFor | None = None) -> None:
        self._engine = engine
        self._mounts_for = mounts_for or (lambda _service: ())

    def check(self, service: Service) -> None:
        """Import the handler (and init) in a one-off container of the image."""
        python = _python(service)
        argv = check_command(python, service.handler or "", service.init)
        spec = self._spec(service, argv, Path("/"), None, CHECK_TIMEOUT)
        try:
            container = self._create(service, spec)
        except BackendError as exc:
            raise Invalid(f"cannot check handler {service.handler!r}: {exc}") from None
        try:
            container.start()
            container.wait(timeout=CHECK_TIMEOUT)
            stdout = container.logs(stdout=True, stderr=False)
            stderr = container.logs(stdout=False, stderr=True)
        except (docker.errors.APIError, RequestException) as exc:
            message = f"cannot check handler {service.handler!r} in {service.image!r}: {exc}"
            raise Invalid(message) from exc
        finally:
            remove(container)
        read_check_answer(f"{python} in {service.image}", service.handler or "", stdout, stderr)

    def hand_over(self, folder: Path) -> None:
        return None  # the image's user is root unless it says otherwise: it can use the folder

    def new_worker(self, service: Service, folder: Path, log_cap: int) -> HandlerWorker:
        env = {k: v for k, v in worker_environment(service).items() if k != "PATH"}
        spec = WorkerSpec(
            handler=service.handler or "",
            cwd=folder,
            env=env,
            init=service.init,
            python=_python(service),
            memory=service.memory_bytes,
            service=service.name,
            log_cap=log_cap,
        )
        return HandlerWorker(spec, launch=lambda spec: self._launch(service, spec))

    def _spec(
        self,
        service: Service,
        argv: list[str],
        cwd: Path,
        folder: Path | None,
        timeout: float | None,
        env: dict[str, str] | None = None,
    ) -> ProcessSpec:
        environment = env if env is not None else worker_environment(service)
        return ProcessSpec(
            argv,
            cwd,
            environment,
            Limits(service.cpu_cores, service.memory_bytes, timeout),
            Path("/dev/null"),  # the log is the worker's own file, not the container's
            image=service.image,
            mounts=(*_mounts(service, folder), *self._mounts_for(service)),
            labels={"sluice.service": service.name, "sluice.role": "handler-worker"},
        )

    def _create(self, service: Service, spec: ProcessSpec, **extra: Any) -> Container:
        options = container_options(spec, self._engine.config.network)
        options["labels"] = self._engine.labels(spec.labels)
        options.update(extra)
        return self._engine.create(service.image, spec.argv, **options)

    def _launch(self, service: Service, worker: WorkerSpec) -> WorkerProcess:
        # The socket's folder is short-named under /tmp: Unix socket paths are capped at 108.
        channel = Path(tempfile.mkdtemp(prefix="sluice-w-"))
        try:
            return self._launch_in(service, worker, channel)
        except BaseException:
            shutil.rmtree(channel, ignore_errors=True)
            raise

    def _launch_in(self, service: Service, worker: WorkerSpec, channel: Path) -> WorkerProcess:
        log_path = channel / "worker.log"
        log_fd = _open_log(log_path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        container: Container | None = None
        try:
            listener.bind(str(channel / "channel.sock"))
            listener.listen(1)
            argv = worker.argv()
            argv += ["--connect", str(INSIDE / "channel.sock"), "--log", str(INSIDE / "worker.log")]
            spec = self._spec(service, argv, worker.cwd, worker.cwd, None, env=worker.env)
            volumes = container_options(spec, "none")["volumes"]
            volumes[str(channel)] = {"bind": str(INSIDE), "mode": "rw"}
            container = self._create(service, spec, volumes=volumes)
            container.start()
            peer = _accept(listener, container, log_path)
        except BaseException:
            listener.close()
            if container is not None:
                remove(container)
            os.close(log_fd)
            raise
        listener.close()
        child = ContainerChild(container, channel, service.memory_bytes)
        fd = peer.fileno()
        return WorkerProcess(
            child,
            (fd, fd),
            log_fd,
            None,  # the engine enforces memory
            worker.log_cap,
            close_input=lambda: peer.shutdown(socket.SHUT_WR),
            release=peer.close,
        )


def _open_log(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)


def _accept(listener: socket.socket, container: Container, log_path: Path) -> socket.socket:
    def check() -> None:
        with contextlib.suppress(docker.errors.APIError, RequestException):
            container.reload()
            if container.status in ("exited", "dead", "stopped"):
                raise BackendError(_start_failure(container, log_path)) from None

    return accept_worker(listener, CONNECT_TIMEOUT, check, "the worker's container")


def _start_failure(container: Container, log_path: Path) -> str:
    with contextlib.suppress(docker.errors.APIError, RequestException):
        output = container.logs().decode(errors="replace").strip()
        output = output or log_path.read_text(errors="replace").strip()
        return f"the worker's container exited before it connected: {output[-2000:]}"
    return "the worker's container exited before it connected"


class ContainerChild:
    """A worker's container: watched by a thread blocked in the engine's wait."""

    def __init__(self, container: Container, channel: Path, memory: int) -> None:
        self._container = container
        self._channel = channel
        self._memory = memory
        self._done = threading.Event()
        self._status: int | None = None
        self._finished: int | None = None
        self._lock = threading.Lock()
        threading.Thread(target=self._wait, daemon=True, name="worker-container").start()

    def _wait(self) -> None:
        try:
            code = self._container.wait().get("StatusCode")
            self._status = int(code) if isinstance(code, int) else None
        except (docker.errors.APIError, RequestException):
            self._status = None
        finally:
            self._done.set()

    @property
    def pid(self) -> int | None:
        return None

    def exited(self) -> bool:
        return self._done.is_set()

    def signal(self, sig: int) -> None:
        if not self._done.is_set():
            with contextlib.suppress(docker.errors.APIError, RequestException):
                self._container.kill(signal=int(sig))

    def rss(self) -> int | None:
        return None

    def finish(self) -> int:
        with self._lock:
            if self._finished is None:
                self.signal(9)
                self._done.wait(10)
                remove(self._container)
                shutil.rmtree(self._channel, ignore_errors=True)
                self._finished = self._status if self._status is not None else -9
            return self._finished

    def describe_exit(self, returncode: int) -> str:
        if returncode == OOM_EXIT:
            limit = format_memory(self._memory)
            return f"exit code 137: killed, most likely for exceeding its memory limit of {limit}"
        return describe_exit(returncode)
