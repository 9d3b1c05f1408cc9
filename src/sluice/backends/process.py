"""Jobs as local processes, each in its own session, watched for memory, time and cancel.

Every job's processes are ended before ``run`` returns. The job leader is never reaped
until its process group has been killed, so the group id cannot be reused under us. On
Linux this process becomes a child subreaper, so a job's orphans (``sleep 100 &``) are
re-parented to us instead of to PID 1 and we reap them ourselves: no zombie is left
behind even when PID 1 does not reap. Orphans are told apart from other children by
their session id, which is the leader's pid.
"""

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import psutil

from sluice.backends.base import Outcome, ProcessSpec, RunResult
from sluice.domain.quantity import format_memory
from sluice.errors import BackendError

POLL_INTERVAL = 0.05  # seconds between samples of the process tree, once warmed up
FIRST_POLL = 0.005  # short jobs are noticed quickly; the interval doubles up to POLL_INTERVAL
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
_PR_SET_CHILD_SUBREAPER = 36


@functools.cache
def _become_subreaper() -> bool:
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


@functools.cache
def _has_proc_children() -> bool:
    pid = os.getpid()
    return os.path.exists(f"/proc/{pid}/task/{pid}/children")


def _child_pids(pid: int) -> list[int]:
    """Direct children of ``pid``; reads /proc instead of psutil's scan of every process."""
    if not _has_proc_children():
        try:
            return [child.pid for child in psutil.Process(pid).children()]
        except psutil.Error:
            return []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    children: list[int] = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                children.extend(int(child) for child in listing.read().split())
        except OSError:
            continue
    return children


def _session_of(pid: int) -> int:
    try:
        return os.getsid(pid)
    except OSError:
        return -1


def _our_children_in(session: int) -> list[int]:
    return [pid for pid in _child_pids(os.getpid()) if _session_of(pid) == session]


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_and_reap(pid: int) -> None:
    """For our own unreaped children only: their pids cannot have been reused."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


class _Tree:
    """The processes of one job: the leader's descendants and its session's orphans."""

    def __init__(self, leader: int) -> None:
        self.leader = leader  # also the session and process group id
        self._members: dict[int, psutil.Process] = {}

    def leader_exited(self) -> bool:
        """True once the leader has exited; it stays unreaped (WNOWAIT)."""
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        return os.waitid(os.P_PID, self.leader, flags) is not None

    def refresh(self) -> None:
        members = {pid: proc for pid, proc in self._members.items() if _running(proc)}
        todo = [self.leader, *members, *_our_children_in(self.leader)]
        seen: set[int] = set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            if pid not in members:
                try:
                    members[pid] = psutil.Process(pid)
                except psutil.Error:
                    continue
            todo.extend(_child_pids(pid))
        self._members = members

    def rss(self) -> int:
        return sum(_rss(proc) for proc in self._members.values())

    def signal(self, sig: int) -> None:
        _kill_group(self.leader, sig)
        for proc in self._members.values():
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)  # psutil refuses a pid that was reused

    def finish(self, leader: "subprocess.Popen[bytes]") -> int:
        """Kill whatever is left, reap the leader and the orphans; the leader's returncode."""
        self.signal(signal.SIGKILL)
        returncode = leader.wait()
        if _become_subreaper():
            self._reap_orphans()
        return returncode

    def _reap_orphans(self) -> None:
        # Orphans reach us only as their parents die, so go on until the group is empty.
        deadline = time.monotonic() + KILL_GRACE
        while time.monotonic() < deadline:
            orphans = _our_children_in(self.leader)
            for pid in orphans:
                _kill_and_reap(pid)
            if not orphans:
                if not _group_exists(self.leader):
                    return
                time.sleep(0.002)


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running()
    except psutil.Error:
        return False


def _rss(proc: psutil.Process) -> int:
    try:
        return int(proc.memory_info().rss)
    except psutil.Error:
        return 0


class _Log:
    """The job's output file. Trimmed to ``cap`` bytes while the job runs, so a chatty job
    cannot fill the disk: the file is in append mode, so the job's next write lands at
    the new end, and the final trim keeps only the first ``cap`` bytes."""

    def __init__(self, spec: ProcessSpec) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC
        try:
            self.fd = os.open(spec.log_path, flags, 0o644)
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


def _spawn(spec: ProcessSpec, log_fd: int) -> "subprocess.Popen[bytes]":
    try:
        return subprocess.Popen(
            spec.argv,
            cwd=spec.cwd,
            env=spec.env,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise BackendError(f"could not start {spec.argv[0]!r}: {exc.strerror}") from exc


class _Job:
    """One run: spawn, watch, stop, reap."""

    def __init__(self, spec: ProcessSpec, cancel: threading.Event | None, log: _Log) -> None:
        self._spec = spec
        self._cancel = cancel
        self._log = log
        self._peak = 0

    def run(self) -> RunResult:
        started = time.monotonic()
        leader = _spawn(self._spec, self._log.fd)
        tree = _Tree(leader.pid)
        verdict = None
        try:
            verdict = self._watch(tree, started)
            if verdict is not None and verdict.graceful:
                self._terminate(tree)
        finally:
            returncode = tree.finish(leader)
        return self._result(verdict, returncode, time.monotonic() - started)

    def _watch(self, tree: _Tree, started: float) -> _Verdict | None:
        interval = FIRST_POLL
        while not tree.leader_exited():
            tree.refresh()
            self._peak = max(self._peak, tree.rss())
            self._log.trim()
            verdict = self._check(time.monotonic() - started)
            if verdict is not None:
                return verdict
            self._sleep(interval)
            interval = min(interval * 2, POLL_INTERVAL)
        return None

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

    def _sleep(self, seconds: float) -> None:
        if self._cancel is None:
            time.sleep(seconds)
        else:
            self._cancel.wait(seconds)

    def _terminate(self, tree: _Tree) -> None:
        tree.signal(signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE
        while not tree.leader_exited() and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL / 5)

    def _result(self, verdict: _Verdict | None, returncode: int, duration: float) -> RunResult:
        exit_code = returncode if returncode >= 0 else None
        if verdict is not None:
            outcome, reason = verdict.outcome, verdict.reason
        elif returncode == 0:
            outcome, reason = Outcome.SUCCEEDED, "exit code 0"
        elif returncode > 0:
            outcome, reason = Outcome.FAILED, f"exit code {returncode}"
        else:
            outcome, reason = Outcome.FAILED, f"killed by signal {_signal_name(-returncode)}"
        return RunResult(outcome, exit_code, reason, duration, self._peak)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


class ProcessBackend:
    """Runs each job as a local process tree. CPU is not limited here, only accounted
    (see ``sluice.core.capacity``); memory is enforced by sampling the tree's RSS, so a
    job that allocates very fast can overshoot the limit for up to one poll interval."""

    name = "process"

    def run(self, spec: ProcessSpec, cancel: threading.Event | None = None) -> RunResult:
        if cancel is not None and cancel.is_set():
            return RunResult(Outcome.CANCELLED, None, "cancelled before start", 0.0, 0)
        _become_subreaper()
        log = _Log(spec)
        try:
            return _Job(spec, cancel, log).run()
        finally:
            log.close()
