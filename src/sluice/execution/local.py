"""Work run by a thread of this process: the handle local executors return."""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from sluice.domain.results import JobReport
from sluice.execution.base import Reports, Slot

log = logging.getLogger(__name__)

SUPERVISOR_CRASHED = "internal error in the supervisor"

Work = Callable[[threading.Event], Reports]  # runs the jobs; stops early when the event is set


class LocalExecution:
    def __init__(
        self,
        job_ids: list[str],
        log_paths: dict[str, Path] | None = None,
        slot: Slot | None = None,
    ) -> None:
        """An execution that its owner ends with ``finish`` (``submit`` does it itself)."""
        self._job_ids = job_ids
        self._log_paths = log_paths or {}
        self._slot = slot
        self._cancel = threading.Event()
        self._future: Future[Reports] = Future()

    @classmethod
    def submit(
        cls,
        pool: ThreadPoolExecutor,
        work: Work,
        slot: Slot,
        job_ids: list[str],
        log_paths: dict[str, Path] | None = None,
    ) -> "LocalExecution":
        """Run ``work`` on ``pool``; ``slot`` is given back when it ends, before any callback."""
        execution = cls(job_ids, log_paths)
        try:
            pool.submit(execution._run, work, slot)
        except RuntimeError:  # the pool is shut down: we are stopping
            slot.release()
            raise
        return execution

    def _run(self, work: Work, slot: Slot) -> None:
        self._slot = slot
        try:
            reports = work(self._cancel)
        except BaseException as exc:
            self.crashed()
            if not isinstance(exc, Exception):
                raise
        else:
            self.finish(reports)

    def finish(self, reports: Reports) -> None:
        """The jobs' reports: the slot is given back first, then the callbacks run."""
        if self._slot is not None:
            self._slot.release()
        self._future.set_result(reports)

    def crashed(self) -> None:
        """End with every job failed by an internal error (logged with the exception)."""
        log.exception("jobs %s crashed in the supervisor", ", ".join(self._job_ids))
        self.finish([JobReport(False, None, SUPERVISOR_CRASHED) for _ in self._job_ids])

    @property
    def cancel_event(self) -> threading.Event:
        return self._cancel

    @property
    def job_ids(self) -> list[str]:
        return list(self._job_ids)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> Reports | None:
        try:
            return self._future.result(timeout)
        except FutureTimeout:
            return None

    def add_done_callback(self, callback: Callable[[Reports], None]) -> None:
        self._future.add_done_callback(lambda future: callback(future.result()))

    def cancel(self) -> None:
        self._cancel.set()

    def live_log(self, job_id: str) -> str | None:
        path = self._log_paths.get(job_id)
        if path is None or self._future.done():
            return None
        try:
            return path.read_text(errors="replace")
        except OSError:
            return None
