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
from pathlib import Path
from typing import Any

from sluice.domain.quantity import format_memory
from sluice.errors import BackendError
from sluice.procs import (
    FIRST_POLL,
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
    argv: list[str], cwd: Path, env: dict[str, str], log_fd: int
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
        )
    except FileNotFoundError as exc:
        if exc.filename is not None and Path(exc.filename) == Path(cwd):
            raise BackendError(f"working directory '{cwd}' does not exist") from exc
        raise BackendError(f"python {argv[0]!r} not found") from exc
    except OSError as exc:
        raise BackendError(f"python {argv[0]!r} cannot be run: {exc.strerror}") from exc


class WorkerProcess:
    """The child and its pipes. Not thread-safe except ``signal`` and ``exited``."""

    def __init__(
        self, argv: list[str], cwd: Path, env: dict[str, str], memory: int | None, log_cap: int
    ) -> None:
        become_subreaper()
        self._log_fd = _open_log()
        try:
            self._popen = _spawn(argv, cwd, env, self._log_fd)
        except BackendError:
            os.close(self._log_fd)
            raise
        self._tree = ProcessTree(self._popen.pid)
        assert self._popen.stdout is not None and self._popen.stdin is not None
        self._reader = Reader(self._popen.stdout.fileno())
        self._memory = memory
        self._log_cap = log_cap
        self._reap_lock = threading.Lock()
        self._reaping = False
        self.returncode: int | None = None
        self.peak_memory = 0

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def exited(self) -> bool:
        if self._reaping:
            return True
        try:
            return self._tree.leader_exited()
        except ChildProcessError:  # reaped by another thread a moment ago
            return True

    def send(self, message: dict[str, Any]) -> None:
        assert self._popen.stdin is not None
        try:
            write_message(self._popen.stdin.fileno(), message)
        except ChannelClosed:
            raise self._crashed() from None

    def receive(self, timeout: float | None) -> dict[str, Any]:
        """The worker's next message; raises Stopped when it dies or breaks a limit."""
        deadline = math.inf if timeout is None else time.monotonic() + timeout
        interval = FIRST_POLL
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
        self._tree.refresh()
        self.peak_memory = max(self.peak_memory, self._tree.rss())
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
        return Stopped(f"worker crashed: {describe_exit(self.finish())}", log)

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
                kill_group(self._popen.pid, sig)

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
        """Ask the worker to leave (stdin closed), then SIGTERM, then SIGKILL the group."""
        if self.returncode is not None:
            return
        assert self._popen.stdin is not None
        with contextlib.suppress(OSError):
            self._popen.stdin.close()
        if not self._wait_exit(EXIT_WAIT):
            self.terminate(KILL_GRACE)
        self.finish()

    def finish(self) -> int:
        """Kill what is left of the group, reap it and close our ends; the exit status."""
        with self._reap_lock:
            if self.returncode is None:
                self._reaping = True
                self.returncode = self._tree.finish(self._popen)
                self._close_files()
            return self.returncode

    def _close_files(self) -> None:
        for stream in (self._popen.stdin, self._popen.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        os.close(self._log_fd)
