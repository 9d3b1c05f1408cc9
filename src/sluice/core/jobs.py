"""Job use-cases: accept work into the durable ledger, retry dead letters, and say how jobs are
doing. Running them is the dispatcher's job (``sluice.core.dispatcher``)."""

import logging
from concurrent.futures import Future
from pathlib import Path

from sluice.core.dispatcher import Dispatcher
from sluice.core.job_events import JobEvent, JobEvents
from sluice.domain.job import Job, JobStatus, ObjectRef
from sluice.domain.service import Service
from sluice.execution.base import Executor
from sluice.state.jobs import JobLedger
from sluice.supervisor.body import Body

log = logging.getLogger(__name__)

CANCELLED_BY_DELETE = "cancelled: the service was deleted"


class JobService:
    def __init__(
        self,
        ledger: JobLedger,
        dispatcher: Dispatcher,
        executor: Executor,
        *,
        max_attempts: int,
        events: JobEvents | None = None,
    ) -> None:
        self.ledger = ledger
        self.events = events or JobEvents()
        self._dispatcher = dispatcher
        self._executor = executor
        self._max_attempts = max_attempts

    def submit_object(self, service: Service, ref: ObjectRef, event: bytes) -> Job | None:
        """A job for a stored object; None if that object version already has one."""
        job = self.ledger.enqueue(
            service.name, source=ref, payload=event, max_attempts=self._attempts_for(service)
        )
        if job is not None:
            self._object_accepted(job, ref)
        return job

    def submit_object_soon(
        self, service: Service, ref: ObjectRef, event: bytes
    ) -> "Future[Job | None]":
        """``submit_object`` without waiting: the future has the job once it is committed
        (the dispatcher is told then)."""
        attempts = self._attempts_for(service)
        done = self.ledger.enqueue_soon(
            service.name, source=ref, payload=event, max_attempts=attempts
        )

        def recorded(done: "Future[Job | None]") -> None:
            job = None if done.exception() is not None else done.result()
            if job is not None:
                self._object_accepted(job, ref)

        done.add_done_callback(recorded)
        return done

    def _object_accepted(self, job: Job, ref: ObjectRef) -> None:
        log.info("job %s for %s/%s", job.id, ref.bucket, ref.key)
        self._accepted(job)

    def submit_payload(self, service: Service, payload: Body) -> Job:
        """A job whose input is a request body (a large one comes as a file, and is moved)."""
        attempts = self._attempts_for(service)
        if isinstance(payload, Path):
            job = self.ledger.enqueue(service.name, payload_file=payload, max_attempts=attempts)
        else:
            job = self.ledger.enqueue(service.name, payload=payload, max_attempts=attempts)
        assert job is not None  # only object jobs are deduplicated
        self._accepted(job)
        return job

    def retry(self, service: str, job_id: str) -> Job:
        job = self.ledger.retry(service, job_id)
        self._accepted(job)
        return job

    def _accepted(self, job: Job) -> None:
        self.events.publish(JobEvent(job.service, job.id, JobStatus.PENDING, job.attempts))
        self._dispatcher.wake(job.service)

    def why_waiting(self, service: Service) -> str:
        """Why a Pending job of ``service`` cannot start now, when that is known."""
        return self.paused() or self._executor.why_waiting(service)

    def log_of(self, service: str, job_id: str) -> str:
        """A job's log: the stored one, or what it has printed so far while it runs."""
        stored = self.ledger.log_of(service, job_id)
        if stored:
            return stored
        return self._dispatcher.live_log(job_id) or ""

    def service_changed(self, old: Service | None, new: Service | None) -> None:
        """A deleted service's waiting and running jobs are cancelled and recorded as such."""
        if old is not None and new is None:
            self.cancel_all(old.name)

    def cancel_all(self, service: str) -> None:
        recorded = self.ledger.cancel_service(service, CANCELLED_BY_DELETE)
        running = self._dispatcher.cancel_service(service)
        if recorded or running:
            log.info("cancelled %d job(s) of deleted service %s", recorded, service)

    def paused(self) -> str:
        """Why no job starts now (the data disk is full, the store is down); "" if they do."""
        return self._dispatcher.paused()

    def _attempts_for(self, service: Service) -> int:
        return service.max_attempts or self._max_attempts

    def start(self) -> None:
        self._dispatcher.start()

    def stop(self) -> None:
        self._dispatcher.stop()
