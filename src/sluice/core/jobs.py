"""Job use-cases: accept work, dispatch it within the machine's capacity, retry, dead letters.

One dispatcher thread claims due jobs from the durable ledger when their service's CPU and
memory fit, and hands each to a worker thread. A crash at any point loses nothing: the ledger
still has the job, and ``recover_interrupted`` runs it again on the next start.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sluice.core.capacity import Capacity, Reservation, too_big
from sluice.core.handlers import HandlerPools
from sluice.core.services import ServiceManager, ServiceRecord
from sluice.domain.job import Job, ObjectRef
from sluice.domain.quantity import format_memory
from sluice.domain.service import Service
from sluice.errors import NotFound
from sluice.state.jobs import JobLedger
from sluice.supervisor.run import JobReport, JobRunner

log = logging.getLogger(__name__)

IDLE_WAIT = 0.5


class JobService:
    def __init__(
        self,
        ledger: JobLedger,
        services: ServiceManager,
        runner: JobRunner,
        capacity: Capacity,
        handlers: HandlerPools,
        *,
        max_attempts: int,
        retry_backoff: float,
        default_timeout: float = 300.0,
    ) -> None:
        self.ledger = ledger
        self._services = services
        self._runner = runner
        self._capacity = capacity
        self._handlers = handlers
        self._default_timeout = default_timeout
        self._batches: dict[str, int] = {}  # handler batches in flight, per service
        self._wait = IDLE_WAIT
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._cancel = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="job")
        self._thread: threading.Thread | None = None
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    def submit_object(self, service: Service, ref: ObjectRef, event: bytes) -> Job | None:
        """A job for a stored object; None if that object version already has one."""
        job = self.ledger.enqueue(
            service.name, source=ref, payload=event, max_attempts=self._attempts_for(service)
        )
        if job is not None:
            log.info("job %s for %s/%s", job.id, ref.bucket, ref.key)
            self._wake.set()
        return job

    def submit_payload(self, service: Service, payload: bytes) -> Job:
        job = self.ledger.enqueue(
            service.name, payload=payload, max_attempts=self._attempts_for(service)
        )
        assert job is not None  # only object jobs are deduplicated
        self._wake.set()
        return job

    def retry(self, service: str, job_id: str) -> Job:
        job = self.ledger.retry(service, job_id)
        self._wake.set()
        return job

    def why_waiting(self, service: Service) -> str:
        """Why a Pending job of ``service`` cannot start now, if it is capacity."""
        capacity = self._capacity
        fits = (
            service.cpu_cores <= capacity.free_cpu and service.memory_bytes <= capacity.free_memory
        )
        if service.handler or fits:
            return ""
        return (
            f"waiting for capacity: each job needs {service.cpu} CPU and {service.memory}; "
            f"free now: {capacity.free_cpu:g} CPU and {format_memory(capacity.free_memory)}"
        )

    def _attempts_for(self, service: Service) -> int:
        return service.max_attempts or self._max_attempts

    def start(self) -> None:
        recovered = self.ledger.recover_interrupted()
        if recovered:
            log.info("re-queued %d job(s) interrupted by the last shutdown", recovered)
        self._thread = threading.Thread(target=self._dispatch_loop, name="dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop dispatching and kill running jobs; the ledger re-runs them on the next start."""
        self._stopping.set()
        self._cancel.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _dispatch_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            self._wait = IDLE_WAIT
            try:
                self._dispatch_due()
            except Exception:
                log.exception("dispatching jobs failed; retrying")
            self._wake.wait(self._wait)

    def _dispatch_due(self) -> None:
        records: dict[str, ServiceRecord | None] = {}
        full: set[str] = set()  # services whose next job does not fit now: skip the rest
        batched: dict[str, list[Job]] = {}
        for job in self.ledger.due():
            if self._stopping.is_set():
                return
            if job.service in full or self._is_claimed(job.id):
                continue
            if job.service not in records:
                records[job.service] = self._service_of(job)
            record = records[job.service]
            if record is None:
                continue
            if record.service.handler:
                batched.setdefault(job.service, []).append(job)
            elif not self._dispatch_one(job, record):
                full.add(job.service)
        for name, jobs in batched.items():
            record = records[name]
            if record is not None:
                self._dispatch_batches(record, jobs)

    def _dispatch_one(self, job: Job, record: ServiceRecord) -> bool:
        """Start a script job if its service's CPU and memory fit now; False if they do not."""
        reservation = self._reserve(job, record.service)
        if reservation is None:
            return False
        if not self.ledger.claim(job.id):
            reservation.release()
            return True
        with self._lock:
            self._claimed.add(job.id)
        self._pool.submit(self._run, job, record, reservation)
        return True

    def _dispatch_batches(self, record: ServiceRecord, jobs: list[Job]) -> None:
        """Hand a handler service's jobs to its warm workers, ``batch_size`` at a time, and
        let a partial batch wait up to ``batch_wait_ms`` for more."""
        service = record.service
        size, wait = service.batch_size, service.batch_wait_ms / 1000
        while jobs and self._batches.get(service.name, 0) < self._batch_slots(service):
            batch, jobs = jobs[:size], jobs[size:]
            age = time.time() - batch[0].created_at.timestamp()
            if len(batch) < size and age < wait:
                self._wait = min(self._wait, wait - age)
                return
            claimed = [job for job in batch if self.ledger.claim(job.id)]
            if not claimed:
                continue
            with self._lock:
                self._claimed.update(job.id for job in claimed)
                self._batches[service.name] = self._batches.get(service.name, 0) + 1
            self._pool.submit(self._run_batch, claimed, record)

    def _batch_slots(self, service: Service) -> int:
        if service.synchronous.max_scale > 0:
            return service.synchronous.max_scale
        return max(1, int(self._capacity.total_cpu // service.cpu_cores))

    def _run_batch(self, jobs: list[Job], record: ServiceRecord) -> None:
        timeout = record.service.timeout or self._default_timeout
        try:
            jobs = [self.ledger.load(job.id) for job in jobs]
            reports = self._handlers.run_batch(jobs, record, self._runner, timeout)
        except Exception:
            log.exception("batch of %s crashed in the supervisor", record.service.name)
            reports = [JobReport(False, None, "internal error in the supervisor") for _ in jobs]
        try:
            for job, report in zip(jobs, reports, strict=True):
                if not (self._stopping.is_set() and not report.succeeded):
                    self._record(job, report)
        finally:
            with self._lock:
                self._claimed.difference_update(job.id for job in jobs)
                self._batches[record.service.name] -= 1
            self._wake.set()

    def _is_claimed(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._claimed

    def _service_of(self, job: Job) -> ServiceRecord | None:
        try:
            return self._services.get(job.service)
        except NotFound:
            self.ledger.forget_service(job.service)
            return None

    def _reserve(self, job: Job, service: Service) -> Reservation | None:
        reason = too_big(service, self._capacity)
        if reason is not None:
            if self.ledger.claim(job.id):
                self.ledger.fail(job.id, None, reason, reason + "\n", retry_in=None)
            return None
        return self._capacity.try_acquire(service.cpu_cores, service.memory_bytes)

    def _run(self, job: Job, record: ServiceRecord, reservation: Reservation) -> None:
        try:
            with reservation:
                job = self.ledger.load(job.id)
                report = self._runner.run(job, record, self._cancel)
            if self._stopping.is_set() and not report.succeeded:
                return  # cut short by shutdown: stays Running and is recovered on the next start
            self._record(job, report)
        except Exception:
            log.exception("job %s crashed in the supervisor", job.id)
            self._record(job, JobReport(False, None, "internal error in the supervisor"))
        finally:
            with self._lock:
                self._claimed.discard(job.id)
            self._wake.set()

    def _record(self, job: Job, report: JobReport) -> None:
        if report.succeeded:
            self.ledger.succeed(job.id, report.exit_code or 0, report.log)
            log.info("job %s succeeded", job.id)
            return
        attempt = self.ledger.attempts(job.id)
        retry_in = None
        if attempt < job.max_attempts:
            retry_in = self._retry_backoff * 2 ** (attempt - 1)
        self.ledger.fail(job.id, report.exit_code, report.reason, report.log, retry_in)
        if retry_in is None:
            log.warning("job %s failed for good (%s): now a dead letter", job.id, report.reason)
        else:
            log.info("job %s failed (%s); retry in %.1f s", job.id, report.reason, retry_in)
