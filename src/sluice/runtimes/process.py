"""The process runtime: each job is a local process tree in its own session, watched for
memory, time and cancel by one thread for all jobs (``sluice.runtimes.watcher``). Every process
of the job is ended before its result is given (see ``sluice.procs`` for how trees are found
and reaped without races).
"""

import contextlib
import functools
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import psutil

from sluice.domain.quantity import format_memory
from sluice.errors import BackendError
from sluice.procs import (
    FIRST_SAMPLE,
    KILL_GRACE,
    ExitWatch,
    ProcessTree,
    become_subreaper,
    signal_name,
    start_time,
)
from sluice.runtimes.base import Outcome, ProcessSpec, RunResult
from sluice.runtimes.sandbox import Sandbox
from sluice.runtimes.watcher import Watcher

log = logging.getLogger(__name__)

# Seconds between samples of a long job's memory, at most: each sample walks its process tree
# in /proc, and with dozens of jobs running, sampling every 50 ms takes CPU from everything.
SAMPLE_CEILING = 0.5


class _Log:
    """The job's output file. Trimmed to ``cap`` bytes while the job runs, so a chatty job
    cannot fill the disk: the file is in append mode, so the job's next write lands at
    the new end, and the final trim keeps only the first ``cap`` bytes."""

    def __init__(self, spec: ProcessSpec) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC
        try:
            self.fd = os.open(spec.log_path, flags, 0o600)
        except OSError as exc:
            raise BackendError(f"cannot write the job log: {exc.strerror}") from exc
        self._cap = spec.log_cap
        self._dropped = 0

    def trim(self) -> None:
        size = os.fstat(self.fd).st_size
        if size > self._cap:
            os.ftruncate(self.fd, self._cap)
            self._dropped += size - self._cap

    def close(self) -> None:
        try:
            self.trim()
            if self._dropped:
                note = (
                    f"\n[sluice] log truncated: only the first {self._cap} bytes of output "
                    f"are kept; {self._dropped} more bytes were dropped\n"
                )
                os.write(self.fd, note.encode())
        finally:
            os.close(self.fd)


@dataclass(frozen=True)
class _Verdict:
    outcome: Outcome
    reason: str
    graceful: bool  # SIGTERM first, SIGKILL after KILL_GRACE


def _spawn(spec: ProcessSpec, log_fd: int, sandbox: Sandbox | None) -> "subprocess.Popen[bytes]":
    argv, options = spec.argv, {}
    if sandbox is not None:
        sandbox.hand_over(spec.cwd)
        argv = sandbox.command(spec.argv, spec.cwd, spec.mounts)
        options = sandbox.popen_options()
    try:
        return subprocess.Popen(
            argv,
            cwd=spec.cwd,
            env=spec.env,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **options,
        )
    except OSError as exc:
        raise BackendError(f"could not start {spec.argv[0]!r}: {exc.strerror}") from exc


class _Job:
    """One run: spawned by its caller, then watched by the ``Watcher`` thread until it exits
    (noticed at once) or breaks a limit (looked at soon after the start, then less and less
    often, up to SAMPLE_CEILING), then stopped, reaped and handed to ``done``."""

    def __init__(
        self,
        spec: ProcessSpec,
        cancel: threading.Event | None,
        log: _Log,
        sandbox: Sandbox | None,
        done: Callable[[RunResult], None],
    ) -> None:
        self._spec = spec
        self._cancel = cancel
        self._log = log
        self._done = done
        self._peak = 0
        self._interval = FIRST_SAMPLE
        self._verdict: _Verdict | None = None
        self._kill_at: float | None = None  # after a SIGTERM: when the rest is killed
        self._started = time.monotonic()
        self._leader = _spawn(spec, log.fd, sandbox)
        self._tree = ProcessTree(self._leader.pid)
        self._exit = ExitWatch(self._leader.pid)
        self._marker = mark_running(spec.log_path, self._leader.pid)

    def exit_fd(self) -> int:
        return self._exit.fd

    def look(self) -> float | None:
        if self._exit.exited():
            return None
        now = time.monotonic()
        if self._kill_at is not None:  # told to stop; it has KILL_GRACE to do so
            return None if now >= self._kill_at else self._kill_at - now
        self._tree.refresh()
        self._peak = max(self._peak, self._tree.rss())
        self._log.trim()
        verdict = self._check(now - self._started)
        if verdict is None:
            delay, self._interval = self._interval, min(self._interval * 2, SAMPLE_CEILING)
            return delay
        self._verdict = verdict
        if not verdict.graceful:
            return None
        self._tree.signal(signal.SIGTERM)
        self._kill_at = now + KILL_GRACE
        return KILL_GRACE

    def end(self) -> None:
        returncode = -signal.SIGKILL
        try:
            returncode = self._tree.finish(self._leader)
        except Exception:  # never leave the job unreported; its leader is reaped regardless
            log.exception("ending the process tree of %s failed", self._spec.log_path.name)
            with contextlib.suppress(Exception):
                returncode = self._leader.wait()
        finally:
            self._exit.close()
            self._marker.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self._log.close()
        result = self._result(self._verdict, returncode, time.monotonic() - self._started)
        try:
            self._done(result)
        except Exception:
            log.exception("reporting the end of %s failed", self._spec.log_path.name)

    def _check(self, elapsed: float) -> _Verdict | None:
        limits = self._spec.limits
        if self._peak > limits.memory:
            limit, peak = format_memory(limits.memory), format_memory(self._peak)
            reason = f"killed: exceeded the memory limit of {limit} (peak {peak})"
            return _Verdict(Outcome.OUT_OF_MEMORY, reason, graceful=False)
        if limits.timeout is not None and elapsed >= limits.timeout:
            reason = f"killed: timed out after {limits.timeout:g} s"
            return _Verdict(Outcome.TIMED_OUT, reason, graceful=True)
        if self._cancel is not None and self._cancel.is_set():
            return _Verdict(Outcome.CANCELLED, "cancelled", graceful=True)
        return None

    def _result(self, verdict: _Verdict | None, returncode: int, duration: float) -> RunResult:
        exit_code = returncode if returncode >= 0 else None
        if verdict is not None:
            outcome, reason = verdict.outcome, verdict.reason
        elif returncode == 0:
            outcome, reason = Outcome.SUCCEEDED, "exit code 0"
        elif returncode > 0:
            outcome, reason = Outcome.FAILED, f"exit code {returncode}"
        else:
            outcome, reason = Outcome.FAILED, f"killed by signal {signal_name(-returncode)}"
        return RunResult(outcome, exit_code, reason, duration, self._peak)


def mark_running(log_path: Path, pid: int) -> Path:
    """``<job>.pid`` beside the job's log while it runs: its process and when that started, so
    a manager that crashed can find and end it on its next start (``end_leftovers``)."""
    marker = log_path.with_suffix(".pid")
    with contextlib.suppress(OSError):
        marker.write_text(f"{pid} {start_time(pid)}\n")
    return marker


def end_leftovers(folder: Path) -> int:
    """Kill the process trees of jobs a crashed manager left running; how many."""
    ended = 0
    for marker in folder.glob("*.pid"):
        try:
            pid_text, started = marker.read_text().split()
            pid = int(pid_text)
            alive = start_time(pid) == started
        except (OSError, ValueError):
            alive = False
        if alive:
            _end_session(pid)
            ended += 1
        marker.unlink(missing_ok=True)
    return ended


def _end_session(leader: int) -> None:
    """Every process in the leader's session (a job's whole tree: it runs in its own)."""
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getsid(process.pid) == leader:
                process.kill()


@functools.cache
def _watcher() -> Watcher:
    """One for the whole process, whatever the number of runtimes: one thread for every job."""
    return Watcher()


class ProcessRuntime:
    """Runs each job as a local process tree, in ``sandbox`` when given (see
    ``sluice.runtimes.sandbox``). CPU is not limited here, only accounted (see
    ``sluice.capacity``); memory is enforced by sampling the tree's RSS, so a job that
    allocates very fast can overshoot the limit for up to one poll interval. One thread
    watches every running job (``sluice.runtimes.watcher``): ``start`` returns at once."""

    name = "process"

    def __init__(self, sandbox: Sandbox | None = None) -> None:
        self.sandbox = sandbox

    def run(self, spec: ProcessSpec, cancel: threading.Event | None = None) -> RunResult:
        ended: Future[RunResult] = Future()
        self.start(spec, cancel, ended.set_result)
        return ended.result()

    def start(
        self,
        spec: ProcessSpec,
        cancel: threading.Event | None,
        done: Callable[[RunResult], None],
    ) -> None:
        """Start the job and return; ``done`` gets its result, on the watcher's thread, once
        every process of it is gone. Raises ``BackendError`` when it cannot start. The
        calling thread must outlive the job when the sandbox ties the job to it (bubblewrap's
        ``--die-with-parent``): a pool's thread, or one that waits, as ``run`` does."""
        if cancel is not None and cancel.is_set():
            done(RunResult(Outcome.CANCELLED, None, "cancelled before start", 0.0, 0))
            return
        become_subreaper()
        log_file = _Log(spec)
        try:
            job = _Job(spec, cancel, log_file, self.sandbox, done)
        except BaseException:
            log_file.close()
            raise
        _watcher().add(job, FIRST_SAMPLE)
