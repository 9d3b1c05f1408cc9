"""One thread that watches every running job of the process runtime, so that no thread waits
for a job: exits are noticed the moment they happen (a pidfd per job, all in one epoll), and
each job is looked at (memory, time, cancel) on its own schedule from a heap of due times.

A watched job is anything with the three methods of ``Watched``; the process runtime's are in
``sluice.runtimes.process``.
"""

import contextlib
import heapq
import itertools
import logging
import os
import selectors
import threading
import time
from typing import Protocol

log = logging.getLogger(__name__)


class Watched(Protocol):
    def exit_fd(self) -> int:
        """A file descriptor readable once the job's leader has exited (-1: none)."""
        ...

    def look(self) -> float | None:
        """Sample the job; seconds until the next look, or None once it should end now."""
        ...

    def end(self) -> None:
        """Stop, reap and report the job. Called once, and never raises."""
        ...


class Watcher:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._new: list[tuple[Watched, float]] = []
        self._due: list[tuple[float, int, Watched]] = []
        self._order = itertools.count()  # ties in the heap never compare two jobs
        self._ended: set[int] = set()  # ids of jobs whose end was called
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, job: Watched, first_look: float) -> None:
        """Watch ``job``: its first look in ``first_look`` seconds, or at its exit if sooner."""
        with self._lock:
            self._new.append((job, time.monotonic() + first_look))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="job-watcher", daemon=True)
                self._thread.start()
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_write, b"x")

    def _run(self) -> None:
        while True:
            try:
                self._turn()
            except Exception:  # never stop: every running job depends on this thread
                log.exception("the job watcher failed; going on")
                time.sleep(0.01)

    def _turn(self) -> None:
        timeout = max(0.0, self._due[0][0] - time.monotonic()) if self._due else None
        for key, _events in self._selector.select(timeout):
            if key.fd == self._wake_read:
                self._take_new()
            else:
                self._end(key.data)
        self._look_at_due()

    def _take_new(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_read, 4096):
                pass
        with self._lock:
            new, self._new = self._new, []
        for job, due in new:
            fd = job.exit_fd()
            if fd >= 0:
                try:
                    self._selector.register(fd, selectors.EVENT_READ, job)
                except (OSError, ValueError):  # then its exit is seen at its next look
                    log.exception("cannot wait for a job's exit; looking at it instead")
            heapq.heappush(self._due, (due, next(self._order), job))

    def _look_at_due(self) -> None:
        now = time.monotonic()
        while self._due and self._due[0][0] <= now:
            _due, _order, job = heapq.heappop(self._due)
            if id(job) in self._ended:
                self._ended.discard(id(job))
                continue
            try:
                delay = job.look()
            except Exception:
                log.exception("looking at a running job failed; ending it")
                delay = None
            if delay is None:
                self._end(job, due_entry_gone=True)
            else:
                heapq.heappush(self._due, (now + delay, next(self._order), job))

    def _end(self, job: Watched, *, due_entry_gone: bool = False) -> None:
        fd = job.exit_fd()
        if fd >= 0:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(fd)
        if not due_entry_gone:
            self._ended.add(id(job))  # its entry in the heap is skipped when it comes due
        job.end()
