"""Process trees: find every process of a job, signal them, and reap them without races.

A tree's leader runs in its own session, so its session and process group id are its pid. The
leader is never reaped until its group has been killed, so the group id cannot be reused under
us. On Linux this process becomes a child subreaper, so a job's orphans (``sleep 100 &``) are
re-parented to us instead of to PID 1 and we reap them ourselves: no zombie is left behind even
when PID 1 does not reap. Orphans are told apart from other children by their session id.
"""

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
import time

import psutil

POLL_INTERVAL = 0.05  # seconds between samples of a process tree, once warmed up
# Seconds before the first sample (memory, time, cancel) of a job or a worker's call; the
# interval then doubles. An exit or an answer is noticed at once without sampling (a pidfd, the
# worker's pipe), and each sample walks the tree in /proc, so a run shorter than this (most
# jobs and calls) costs no sample at all.
FIRST_SAMPLE = 0.025
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
_PR_SET_CHILD_SUBREAPER = 36


@functools.cache
def become_subreaper() -> bool:
    """Adopt the orphans of our children (Linux); True if this process is a subreaper."""
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


def _our_orphans() -> list[int]:
    """Processes re-parented to us as subreaper: the kernel gives them to the thread group's
    first live thread, our main thread, so its list is the one to read (not every thread's:
    a busy manager has dozens)."""
    pid = os.getpid()
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            return [int(child) for child in listing.read().split()]
    except OSError:
        return _child_pids(pid)


def _our_children_in(session: int) -> list[int]:
    return [pid for pid in _our_orphans() if _session_of(pid) == session]


def kill_group(pgid: int, sig: int) -> None:
    """Signal a process group; a group that is gone (or not ours to signal) is ignored."""
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


def start_time(pid: int) -> str:
    """When ``pid`` started (clock ticks since boot, from /proc): with the pid, names one
    process even after the pid is reused. "" when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return ""


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def describe_exit(returncode: int) -> str:
    """``exit code 3`` or ``killed by signal SIGKILL``, from a Popen-style return code."""
    if returncode >= 0:
        return f"exit code {returncode}"
    return f"killed by signal {signal_name(-returncode)}"


class ExitWatch:
    """A child's exit: a pidfd (Linux 5.3+) to wait for it with others in one poll, and a look
    that works without one. The child is not reaped."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._fd = -1
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                self._fd = os.pidfd_open(pid)

    @property
    def fd(self) -> int:
        """The pidfd, readable once the child has exited; -1 where there is none."""
        return self._fd

    def exited(self) -> bool:
        try:
            return os.waitid(os.P_PID, self._pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class ProcessTree:
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
        kill_group(self.leader, sig)
        for proc in self._members.values():
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)  # psutil refuses a pid that was reused

    def finish(self, leader: "subprocess.Popen[bytes]") -> int:
        """Kill whatever is left, reap the leader and the orphans; the leader's returncode.
        Members that left the session (``setsid``) are killed too, as they were seen in the
        tree, and reaped once they are re-parented to us."""
        self.refresh()
        self.signal(signal.SIGKILL)
        returncode = leader.wait()
        if become_subreaper():
            self._reap_orphans()
            self._reap_escapees()
        return returncode

    def _reap_escapees(self) -> None:
        ours = set(_our_orphans())
        escapees = [p for pid, p in self._members.items() if pid != self.leader and pid in ours]
        for proc in escapees:
            with contextlib.suppress(psutil.Error):
                proc.kill()  # psutil refuses a pid that was reused
        deadline = time.monotonic() + KILL_GRACE
        for proc in escapees:
            while time.monotonic() < deadline:
                try:
                    if os.waitpid(proc.pid, os.WNOHANG)[0]:
                        break
                except ChildProcessError:
                    break
                time.sleep(0.002)

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
