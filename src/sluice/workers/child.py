"""One worker process seen from the parent: spawn, message, watch memory and time, end.

The process runs in its own session and is ended as ``sluice.procs`` ends any process tree:
its leader stays unreaped until the whole group has been killed, so the group id cannot be
reused under us, and orphans are reaped when we are a child subreaper.
"""

import contextlib
import fcntl
import math
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sluice.domain.quantity import format_memory
from sluice.errors import BackendError
from sluice.procs import (
    FIRST_SAMPLE,
    KILL_GRACE,
    POLL_INTERVAL,
    ProcessTree,
    become_subreaper,
    describe_exit,
    kill_group,
)
from sluice.workers.channel import ChannelClosed, ProtocolError, Reader, write_message

EXIT_WAIT = 1.0  # seconds an idle worker gets to exit on its own once stdin is closed


class Stopped(Exception):
    """The worker process is gone: it crashed, or was killed for memory or time."""

    def __init__(self, reason: str, log: str, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason  # for people: "worker crashed: exit code 1"
        self.log = log  # what the current invocation had printed
        self.timed_out = timed_out


def _open_log() -> int:
    """An anonymous file in append mode, so the worker's fds 1 and 2 can share it."""
    fd, name = tempfile.mkstemp(prefix="sluice-worker-", suffix=".log")
    os.unlink(name)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
    return fd


def _spawn(
    argv: list[str], cwd: Path, env: dict[str, str], log_fd: int, options: dict[str, Any]
) -> "subprocess.Popen[bytes]":
    try:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_fd,
            start_new_session=True,
            **options,
        )
    except FileNotFoundError as exc:
        if exc.filename is not None and Path(exc.filename) == Path(cwd):
            raise BackendError(f"working directory '{cwd}' does not exist") from exc
        raise BackendError(f"python {argv[0]!r} not found") from exc
    except OSError as exc:
        raise BackendError(f"python {argv[0]!r} cannot be run: {exc.strerror}") from exc


class Child(Protocol):
    """What a worker runs in, a local process or a container, seen from the protocol's end."""

    @property
    def pid(self) -> int | None: ...

    def exited(self) -> bool: ...

    def signal(self, sig: int) -> None:
        """Signal everything in it; nothing once it has been finished."""
        ...

    def rss(self) -> int | None:
        """Bytes in use now, or None when its memory is limited elsewhere (by the engine)."""
        ...

    def finish(self) -> int:
        """Kill what is left and reap it; the exit status, Popen-style (-9: SIGKILL)."""
        ...

    def describe_exit(self, returncode: int) -> str: ...


class LocalChild:
    """A worker process of our own, in its own session (``sluice.procs``)."""

    def __init__(self, popen: "subprocess.Popen[bytes]") -> None:
        self._popen = popen
        self._tree = ProcessTree(popen.pid)

    @property
    def pid(self) -> int | None:
        return self._popen.pid

    def exited(self) -> bool:
        try:
            return self._tree.leader_exited()
        except ChildProcessError:  # reaped by another thread a moment ago
            return True

    def signal(self, sig: int) -> None:
        kill_group(self._popen.pid, sig)

    def rss(self) -> int | None:
        self._tree.refresh()
        return self._tree.rss()

    def finish(self) -> int:
        return self._tree.finish(self._popen)

    def describe_exit(self, returncode: int) -> str:
        return describe_exit(returncode)


def spawn_local(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    memory: int | None,
    log_cap: int,
    options: dict[str, Any] | None = None,
) -> "WorkerProcess":
    """A worker as a local process: the protocol on its stdin and stdout, its log on fd 2;
    ``options`` go to Popen (the job user to run as)."""
    become_subreaper()
    log_fd = _open_log()
    try:
        popen = _spawn(argv, cwd, env, log_fd, options or {})
    except BackendError:
        os.close(log_fd)
        raise
    stdin, stdout = popen.stdin, popen.stdout
    assert stdout is not None and stdin is not None

    def release() -> None:
        for stream in (stdin, stdout):
            with contextlib.suppress(OSError):
                stream.close()

    ends = (stdout.fileno(), stdin.fileno())
    return WorkerProcess(
        LocalChild(popen), ends, log_fd, memory, log_cap, close_input=stdin.close, release=release
    )


class WorkerProcess:
    """The protocol's end: messages to and from the worker, its log, its limits. Not
    thread-safe except ``signal`` and ``exited``."""

    def __init__(
        self,
        child: Child,
        ends: tuple[int, int],  # (read fd, write fd); one socket may be both
        log_fd: int,
        memory: int | None,
        log_cap: int,
        *,
        close_input: Callable[[], None],  # EOF for the worker: it leaves once idle
        release: Callable[[], None],  # closes our ends when the worker is finished
    ) -> None:
        self._child = child
        self._read_fd, self._write_fd = ends
        self._log_fd = log_fd
        self._reader = Reader(self._read_fd)
        self._memory = memory
        self._log_cap = log_cap
        self._close_input_once = close_input
        self._release = release
        self._reap_lock = threading.Lock()
        self._reaping = False
        self._input_closed = False
        self.returncode: int | None = None
        self.peak_memory = 0

    @property
    def pid(self) -> int | None:
        return self._child.pid

    @property
    def exited(self) -> bool:
        if self._reaping:
            return True
        return self._child.exited()

    def send(self, message: dict[str, Any]) -> None:
        try:
            write_message(self._write_fd, message)
        except ChannelClosed:
            raise self._crashed() from None

    def receive(self, timeout: float | None) -> dict[str, Any]:
        """The worker's next message; raises Stopped when it dies or breaks a limit."""
        deadline = math.inf if timeout is None else time.monotonic() + timeout
        interval = FIRST_SAMPLE
        while True:
            try:
                message = self._reader.poll(interval)
            except ChannelClosed:
                raise self._crashed() from None
            except ProtocolError as exc:
                raise self.kill(f"worker crashed: protocol error: {exc}") from None
            if message is not None:
                return message
            if self.exited:
                raise self._crashed()
            self._watch_memory()
            self._trim_log()
            if timeout is not None and time.monotonic() >= deadline:
                raise self._timed_out(timeout)
            interval = min(interval * 2, POLL_INTERVAL)

    def _watch_memory(self) -> None:
        if self._memory is None:
            return
        rss = self._child.rss()
        if rss is None:
            return
        self.peak_memory = max(self.peak_memory, rss)
        if self.peak_memory > self._memory:
            limit, peak = format_memory(self._memory), format_memory(self.peak_memory)
            raise self.kill(f"worker killed: exceeded the memory limit of {limit} (peak {peak})")

    def _trim_log(self) -> None:
        # cap + 1 bytes are kept so that the worker can tell its log was cut
        if os.fstat(self._log_fd).st_size > self._log_cap + 1:
            os.ftruncate(self._log_fd, self._log_cap + 1)

    def log_text(self) -> str:
        if self.returncode is not None:
            return ""
        return os.pread(self._log_fd, self._log_cap, 0).decode(errors="replace")

    def _crashed(self) -> Stopped:
        log = self.log_text()
        return Stopped(f"worker crashed: {self._child.describe_exit(self.finish())}", log)

    def kill(self, reason: str) -> Stopped:
        log = self.log_text()
        self.finish()
        return Stopped(reason, log)

    def _timed_out(self, timeout: float) -> Stopped:
        log = self.log_text()
        self.terminate(KILL_GRACE)
        self.finish()
        return Stopped(f"timed out after {timeout:g} s", log, timed_out=True)

    def signal(self, sig: int) -> None:
        with self._reap_lock:
            if not self._reaping:
                self._child.signal(sig)

    def terminate(self, grace: float) -> None:
        """SIGTERM the group and give the leader ``grace`` seconds to exit."""
        self.signal(signal.SIGTERM)
        self._wait_exit(grace)

    def _wait_exit(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self.exited:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL / 5)
        return True

    def close(self) -> None:
        """Ask the worker to leave (its input closed), then SIGTERM, then SIGKILL."""
        if self.returncode is not None:
            return
        self._close_input()
        if not self._wait_exit(EXIT_WAIT):
            self.terminate(KILL_GRACE)
        self.finish()

    def finish(self) -> int:
        """Kill what is left of the group, reap it and close our ends; the exit status."""
        with self._reap_lock:
            if self.returncode is None:
                self._reaping = True
                self.returncode = self._child.finish()
                self._close_files()
            return self.returncode

    def _close_input(self) -> None:
        if self._input_closed:
            return
        self._input_closed = True
        with contextlib.suppress(OSError):
            self._close_input_once()

    def _close_files(self) -> None:
        with contextlib.suppress(OSError):
            self._release()
        os.close(self._log_fd)
