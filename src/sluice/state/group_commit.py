"""Group commit: writes from many threads, committed together in one transaction.

Each caller hands over a small piece of work (a function of the open connection) and waits
until the transaction holding it has committed, so it is as durable as a write of its own when
the call returns. One committer thread takes every piece queued while the previous commit ran,
so under load a few transactions carry many jobs' writes, and an idle ledger adds one thread
hop. A piece that raises rolls back its whole group; the others are then run again one by one,
each in a transaction of its own, so one bad write never takes the others' with it.
"""

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection

if TYPE_CHECKING:
    from sluice.state.database import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Connection], Any]
MAX_GROUP = 256  # pieces in one transaction at most: keeps each commit's latency bounded


class GroupCommit:
    def __init__(self, db: "Database") -> None:
        self._db = db
        self._queue: queue.SimpleQueue[tuple[Work, Future[Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(conn)`` inside a transaction shared with other callers; its result once
        that transaction has committed (its exception if it raised, or the commit failed)."""
        return self.submit(work).result()

    def submit(self, work: Callable[[Connection], T]) -> "Future[T]":
        """``run`` without waiting: the future is done once the transaction has committed.
        Lets the event loop wait for a write without a thread of its own."""
        done: Future[T] = Future()
        self._ensure_thread()
        self._queue.put((work, done))
        return done

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._commit_forever, name="group-commit", daemon=True
                )
                self._thread.start()

    def _commit_forever(self) -> None:
        while True:
            group = [self._queue.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._commit(group)
            except BaseException as exc:  # never leave a caller waiting, never stop
                log.exception("group commit failed")
                for _work, done in group:
                    if not done.done():
                        done.set_exception(exc)

    def _commit(self, group: list[tuple[Work, "Future[Any]"]]) -> None:
        if len(group) > 1:
            try:
                with self._db.write() as conn:
                    results = [work(conn) for work, _done in group]
            except Exception as exc:  # the group rolled back; each runs alone below
                log.debug("a group of %d writes failed (%s); one by one now", len(group), exc)
            else:
                for (_work, done), result in zip(group, results, strict=True):
                    done.set_result(result)
                return
        for work, done in group:
            try:
                with self._db.write() as conn:
                    result = work(conn)
            except Exception as exc:
                done.set_exception(exc)
            else:
                done.set_result(result)
