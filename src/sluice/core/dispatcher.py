"""The dispatcher: claims due jobs from the durable ledger when their executor has room, starts
them, and records how each ended: success, a retry after a backoff, or a dead letter.

One supervised loop reads the ledger; the work itself runs wherever the executor runs it, and
reports back through a callback. A crash at any point loses nothing: the ledger still has every
job, and ``recover_interrupted`` runs the ones left Running again on the next start. Managers
sharing one database claim jobs as leases that the loop renews while they run; a job whose lease
ran out (its manager died) is run again by another, and a job this manager no longer holds (it
was cancelled meanwhile) is stopped here. A report that cannot be recorded (the database is
locked, the disk is full) is kept and recorded again by the loop, so no job is left Running.
While the machine cannot run jobs (the data disk is full, the embedded object store is down:
each a ``Pause``) nothing new starts, and work that fails meanwhile waits as Pending without
losing an attempt.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Literal

from sluice.core.job_events import JobEvent, JobEvents
from sluice.core.services import ServiceManager
from sluice.domain.job import Job, JobStatus
from sluice.domain.results import JobReport
from sluice.domain.retry import RetryPolicy
from sluice.domain.service import ServiceRecord
from sluice.errors import Invalid, NotFound
from sluice.execution.base import Execution, Executor, Reports, Slot
from sluice.state.jobs import JobLedger
from sluice.supervision import Supervised

log = logging.getLogger(__name__)

IDLE_WAIT = 0.5  # seconds between ledger reads when nothing wakes the dispatcher
DUE_PAGE = 16  # due jobs read at a time
PAUSED_WAIT = 1.0  # seconds between looks at what pauses the dispatcher
PAUSED_REQUEUE = 5.0  # seconds before a job cut short while paused is due again

Pause = Callable[[], str]  # why jobs cannot run now ("" when they can)
# The jobs of a service that stay here; the rest went elsewhere (delegated to a replica on
# another cluster). The room here: "free", "full" now, or "never" (they can never fit).
Room = Literal["free", "full", "never"]
Overflow = Callable[[ServiceRecord, list[Job], Room], list[Job]]


class Dispatcher:
    def __init__(
        self,
        ledger: JobLedger,
        services: ServiceManager,
        executor: Executor,
        backoff: float,
        events: JobEvents | None = None,
        pauses: Sequence[Pause] = (),
        overflow: Overflow | None = None,
    ) -> None:
        self._ledger = ledger
        self._overflow = overflow or (lambda _record, jobs, _full: jobs)
        self._events = events or JobEvents()
        self._services = services
        self._executor = executor
        self._backoff = backoff
        self._pauses = list(pauses)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.loop = Supervised("dispatcher", self._step, wake=self._wake)
        self._lock = threading.Lock()
        self._running: dict[str, tuple[str, Execution]] = {}  # job id → (service, execution)
        self._unrecorded: list[tuple[Job, JobReport]] = []  # reports the ledger refused so far
        self._lost: set[str] = set()  # running here, but no longer this manager's to record
        self._next_renewal = 0.0  # when leases are renewed next (monotonic seconds)
        self._full: set[str] = set()  # services that had no room at the last look
        self._wait = IDLE_WAIT

    def wake(self, service: str | None = None) -> None:
        """Look at the ledger again soon. New work of a service that had no room at the last
        look needs no look: the end of a job, which makes room, wakes the dispatcher anyway."""
        if service is None or service not in self._full:
            self._wake.set()

    def start(self) -> None:
        recovered = self._ledger.recover_interrupted()
        if recovered:
            log.info("re-queued %d job(s) interrupted by the last shutdown", recovered)
        self.loop.start()

    def stop(self) -> None:
        """Stop dispatching and cancel running work; the ledger re-runs it on the next start."""
        self._stopping.set()
        self.loop.stop()
        for execution in self._executions():
            execution.cancel()

    def cancel_service(self, service: str) -> int:
        """Cancel every running job of ``service``; how many were running."""
        doomed = self._executions(service)
        for execution in doomed:
            execution.cancel()
        return len(doomed)

    def live_log(self, job_id: str) -> str | None:
        with self._lock:
            running = self._running.get(job_id)
        return None if running is None else running[1].live_log(job_id)

    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def _executions(self, service: str | None = None) -> list[Execution]:
        """Each running execution once (a batch runs several jobs)."""
        with self._lock:
            found = {id(e): e for s, e in self._running.values() if service in (None, s)}
        return list(found.values())

    def paused(self) -> str:
        """Why no job starts now (the data disk is full, the store is down); "" if they do."""
        return "; ".join(reason for pause in self._pauses if (reason := pause()))

    def _step(self) -> float:
        self._record_unrecorded()
        self._keep_leases()
        if self.paused():
            return PAUSED_WAIT
        self._wait = IDLE_WAIT
        self._dispatch_due()
        return self._wait

    def _dispatch_due(self) -> None:
        """Due jobs, a page at a time, oldest first. A service that takes no more this round
        (no room, a partial batch waiting) is left out of the next pages, so that a backlog
        of one service is not read again and again while others' jobs wait behind it."""
        self._full.clear()
        held: set[str] = set()
        while not self._stopping.is_set():
            page = self._ledger.due(DUE_PAGE, skip=held)
            waiting: dict[str, list[Job]] = {}
            for job in page:
                if not self._is_running(job.id):
                    waiting.setdefault(job.service, []).append(job)
            started = 0
            for name, jobs in waiting.items():
                if self._stopping.is_set():
                    return
                record = self._record_of(name)
                done = self._dispatch_service(record, jobs) if record is not None else 0
                if done < len(jobs):
                    held.add(name)
                started += done
            if len(page) < DUE_PAGE or not started:
                return

    def _dispatch_service(self, record: ServiceRecord, jobs: list[Job]) -> int:
        """Start batches of the service's due jobs, oldest first, while its executor has room,
        all claimed in one transaction; how many of ``jobs`` started."""
        ready = list(self._batches_with_room(record, jobs))
        try:
            won = self._ledger.claim_jobs([job.id for _slot, batch in ready for job in batch])
        except BaseException:
            for slot, _batch in ready:
                slot.release()
            raise
        claimed = {job.id: job for job in won}
        for slot, batch in ready:
            self._start(slot, record, [claimed[job.id] for job in batch if job.id in claimed])
        return len(claimed)

    def _batches_with_room(
        self, record: ServiceRecord, jobs: list[Job]
    ) -> Iterator[tuple[Slot, list[Job]]]:
        """The service's due jobs in batches, oldest first, each with the room to run it, while
        there is room; a partial batch waits up to the service's batch wait for more."""
        service = record.service
        policy = self._executor.batching(service)
        jobs = self._overflow(record, jobs, "free")
        while jobs:
            batch, jobs = jobs[: policy.size], jobs[policy.size :]
            age = time.time() - batch[0].created_at.timestamp()
            if len(batch) < policy.size and age < policy.wait:
                self._wait = min(self._wait, policy.wait - age)
                return
            try:
                slot = self._executor.reserve(service)
            except Invalid as exc:  # it can never run here: a replica, or fail for good, now
                self._refuse(self._overflow(record, batch, "never"), str(exc))
                continue
            if slot is None:  # full: the rest wait for the next round, or go to a replica
                self._full.add(service.name)
                self._overflow(record, [*batch, *jobs], "full")
                return
            yield slot, batch

    def _start(self, slot: Slot, record: ServiceRecord, jobs: list[Job]) -> None:
        """Start ``jobs`` (claimed, whole) in ``slot``."""
        if not jobs:  # another manager was first
            slot.release()
            return
        try:
            execution = self._executor.start(slot, record, jobs)
        except Exception as exc:
            slot.release()
            if self._stopping.is_set():
                return  # claimed, so Running: the next start runs them
            log.exception("cannot start jobs of %s", record.service.name)
            for job in jobs:
                self._record(job, JobReport(False, None, f"cannot start: {exc}"))
            return
        with self._lock:
            for job in jobs:
                self._running[job.id] = (record.service.name, execution)
        for job in jobs:
            self._events.publish(JobEvent(job.service, job.id, JobStatus.RUNNING, job.attempts))
        execution.add_done_callback(lambda reports: self._finished(jobs, reports))

    def _keep_leases(self) -> None:
        """Renew the leases of the jobs running here, stop those no longer held, and run again
        the jobs of managers that stopped renewing theirs."""
        now = time.monotonic()
        if now < self._next_renewal:
            return
        with self._lock:
            running = dict(self._running)
        held = self._ledger.renew(running)
        for job_id, (_, execution) in running.items():
            if job_id not in held and execution.wait(0) is None:
                log.warning("job %s is no longer this manager's to run; stopping it", job_id)
                with self._lock:
                    self._lost.add(job_id)
                execution.cancel()
        recovered = self._ledger.recover_expired()
        if recovered:
            log.warning("re-queued %d job(s) whose manager stopped renewing them", recovered)
        self._next_renewal = now + self._ledger.lease / 4

    def _finished(self, jobs: list[Job], reports: Reports) -> None:
        for job, report in zip(jobs, reports, strict=True):
            with self._lock:
                lost = job.id in self._lost
                self._lost.discard(job.id)
            # Cut short by shutdown: stays Running and is recovered on the next start.
            if lost:
                self._forget(job)
            elif not (self._stopping.is_set() and not report.succeeded):
                self._record_or_keep(job, report)
            else:
                self._forget(job)
        self._wake.set()

    def _record_or_keep(self, job: Job, report: JobReport) -> None:
        try:
            self._record(job, report)
        except Exception as exc:
            log.warning("cannot record the end of job %s yet (%s); will retry", job.id, exc)
            with self._lock:
                self._unrecorded.append((job, report))  # still counted as running meanwhile
            return
        self._forget(job)

    def _record_unrecorded(self) -> None:
        with self._lock:
            waiting, self._unrecorded = self._unrecorded, []
        for job, report in waiting:
            self._record_or_keep(job, report)

    def _forget(self, job: Job) -> None:
        with self._lock:
            self._running.pop(job.id, None)

    def _refuse(self, batch: list[Job], reason: str) -> None:
        for job in batch:
            if self._ledger.claim(job.id):
                self._ledger.fail(job.id, None, reason, reason + "\n", retry_in=None)
                event = JobEvent(job.service, job.id, JobStatus.FAILED, 1, reason, dead=True)
                self._events.publish(event)

    def _is_running(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._running

    def _record_of(self, name: str) -> ServiceRecord | None:
        try:
            return self._services.get(name)
        except NotFound:  # deleted as its jobs arrived: they end as the delete's do
            self._ledger.cancel_service(name, "cancelled: the service was deleted")
            return None

    def _record(self, job: Job, report: JobReport) -> None:
        paused = self.paused() if not report.succeeded else ""
        if paused:
            self._ledger.requeue(job.id, PAUSED_REQUEUE, f"waiting: {paused}")
            log.warning("job %s cut short (%s); it runs again later", job.id, paused)
            self._events.publish(JobEvent(job.service, job.id, JobStatus.PENDING, job.attempts - 1))
            return
        if report.succeeded:
            self._ledger.succeed(job.id, report.exit_code or 0, report.log)
            log.info("job %s succeeded", job.id)
            self._events.publish(JobEvent(job.service, job.id, JobStatus.SUCCEEDED, job.attempts))
            return
        attempt = self._ledger.attempts(job.id)
        retry_in = RetryPolicy(job.max_attempts, self._backoff).delay_after(attempt)
        self._ledger.fail(job.id, report.exit_code, report.reason, report.log, retry_in)
        status = JobStatus.FAILED if retry_in is None else JobStatus.PENDING
        dead = retry_in is None
        self._events.publish(JobEvent(job.service, job.id, status, attempt, report.reason, dead))
        if retry_in is None:
            log.warning("job %s failed for good (%s): now a dead letter", job.id, report.reason)
        else:
            log.info("job %s failed (%s); retry in %.1f s", job.id, report.reason, retry_in)
