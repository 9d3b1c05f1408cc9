"""The durable job ledger: one record per (service, object version), claimed by the dispatcher.

A repeated event for the same upload hits the unique ``dedupe_key`` and creates nothing.

Several managers may share one database (PostgreSQL). A claim is one conditional UPDATE of
Pending rows, locked with ``FOR UPDATE SKIP LOCKED`` (ignored by SQLite, whose writers take
turns anyway), so a job is claimed by one manager only. The claim is a lease, in the names of
``owner`` and ``lease_until``: its manager renews it while the job runs; a manager that dies
stops renewing, and once the lease has run out another one runs the job again. A manager that
restarts takes back its own Running jobs at once, so nothing is lost, and only the owner may
record how a job ended.
"""

import functools
import os
import socket
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Select,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from sluice.domain.job import Job, JobStatus, ObjectRef, new_job_id
from sluice.errors import Invalid, NotFound
from sluice.state.database import Database
from sluice.state.job_rows import PAGE_SIZE, JobPage, page_offset, to_job
from sluice.state.schema import jobs

SUMMARY_COLUMNS = [column for column in jobs.c if column.name not in ("payload", "log")]
FINISHED = (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value)
LEASE = 60.0  # seconds a claim holds without renewal (renewed every quarter of it)
NO_LEASE = {"owner": None, "lease_until": None}


class JobLedger:
    def __init__(
        self,
        db: Database,
        payloads: Path | None = None,
        *,
        owner: str | None = None,
        lease: float = LEASE,
    ) -> None:
        """``payloads``: the folder large bodies are kept in, one file per job. ``owner``: this
        manager's name in the ledger, the same across its restarts (a new one if None);
        ``lease``: seconds its claims hold unless renewed."""
        self._db = db
        self._payloads = payloads
        self.owner = owner or new_owner()
        self.lease = lease
        self._group = db.grouped  # job starts and ends of many jobs share commits

    def enqueue(
        self,
        service: str,
        *,
        source: ObjectRef | None = None,
        payload: bytes | None = None,
        payload_file: Path | None = None,
        max_attempts: int = 1,
    ) -> Job | None:
        """Record a new Pending job; None when this object version already has one. A
        ``payload_file`` is moved into the ledger's payload folder."""
        job_id = new_job_id(service)
        kept = self._keep(payload_file, job_id) if payload_file is not None else None
        try:
            row = self._new_job(job_id, service, source, payload, kept, max_attempts)
            stored = self._insert(row).result()
        except BaseException:
            _remove(kept)
            raise
        if stored is None:
            _remove(kept)
        return stored

    def enqueue_soon(
        self,
        service: str,
        *,
        source: ObjectRef | None = None,
        payload: bytes | None = None,
        max_attempts: int = 1,
    ) -> "Future[Job | None]":
        """``enqueue`` without waiting (and without a payload file): the future has the job
        once its row is committed, so the event loop can wait for it without a thread."""
        job_id = new_job_id(service)
        return self._insert(self._new_job(job_id, service, source, payload, None, max_attempts))

    def _new_job(
        self,
        job_id: str,
        service: str,
        source: ObjectRef | None,
        payload: bytes | None,
        kept: Path | None,
        max_attempts: int,
    ) -> dict[str, Any]:
        return {
            "id": job_id,
            "service": service,
            "status": JobStatus.PENDING.value,
            "dedupe_key": source.dedupe_key(service) if source else None,
            "provider": source.provider if source else None,
            "bucket": source.bucket if source else None,
            "object_key": source.key if source else None,
            "etag": source.etag if source else None,
            "payload": payload,
            "payload_file": kept.name if kept is not None else None,
            "attempts": 0,
            "max_attempts": max_attempts,
            "not_before": 0.0,
            "created_at": datetime.now(UTC),
            "reason": "",
            "log": "",
            "dead": False,
            "hidden": False,
            "home": self.owner if kept is not None else None,  # its body is only here
        }

    def _insert(self, row: dict[str, Any]) -> "Future[Job | None]":
        """A repeated event for the same object version hits the dedupe key: no row, no job."""

        def insert(conn: Connection) -> Job | None:
            stored = conn.execute(self._new_row, row).mappings().first()
            return None if stored is None else to_job(stored, self._payloads)

        return self._group.submit(insert)

    @functools.cached_property
    def _new_row(self) -> Executable:
        """The enqueue's INSERT, built once (its values are bound at each execution)."""
        dialect = sqlite if self._db.engine.dialect.name == "sqlite" else postgresql
        insert: sqlite.Insert | postgresql.Insert = dialect.insert(jobs)
        return insert.on_conflict_do_nothing().returning(*jobs.c)

    def _keep(self, payload_file: Path, job_id: str) -> Path:
        if self._payloads is None:
            raise ValueError("this ledger keeps no payload files")
        self._payloads.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self._payloads / job_id
        os.replace(payload_file, target)
        return target

    def _payload_path(self, name: str | None) -> Path | None:
        if name is None or self._payloads is None:
            return None
        return self._payloads / name

    def _drop_payloads(self, conn: Connection, where: ColumnElement[bool]) -> None:
        """Remove the payload files of the rows ``where`` selects (their rows go or are hidden)."""
        query = select(jobs.c.payload_file).where(where, jobs.c.payload_file.is_not(None))
        for (name,) in conn.execute(query).all():
            _remove(self._payload_path(name))

    def known_sources(self, service: str, refs: Iterable[ObjectRef]) -> set[str]:
        """Dedupe keys among ``refs`` that already have a job (deleted logs included)."""
        keys = [ref.dedupe_key(service) for ref in refs]
        found: set[str] = set()
        with self._db.read() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                rows = conn.execute(select(jobs.c.dedupe_key).where(jobs.c.dedupe_key.in_(chunk)))
                found.update(row[0] for row in rows)
        return found

    def due(self, limit: int = 64, skip: Iterable[str] = ()) -> list[Job]:
        """Pending jobs whose retry delay has passed, oldest first, without their payloads
        (the dispatcher reads this often; a claim gives the whole job to the one running it),
        leaving out those of the services in ``skip``."""
        query, skipped = self._due, list(skip)
        if skipped:
            query = query.where(jobs.c.service.not_in(skipped))
        with self._db.read() as conn:
            rows = conn.execute(query, {"now": time.time(), "limit": limit}).mappings()
            return [to_job(row, self._payloads) for row in rows]

    @functools.cached_property
    def _due(self) -> Select[Any]:
        """``due``'s query, built once (SQLAlchemy then skips building and keying it)."""
        return (
            select(*SUMMARY_COLUMNS)
            .where(
                jobs.c.status == JobStatus.PENDING.value,
                jobs.c.not_before <= bindparam("now"),
                self._runnable_here(),
            )
            .order_by(jobs.c.created_at)
            .limit(bindparam("limit"))
        )

    def _runnable_here(self) -> ColumnElement[bool]:
        return or_(jobs.c.home.is_(None), jobs.c.home == self.owner)

    def claim(self, job_id: str) -> bool:
        """Pending → Running, counting an attempt. False if someone else changed it first."""
        return job_id in self.claim_many([job_id])

    def claim_many(self, job_ids: list[str]) -> set[str]:
        """Claim those of ``job_ids`` still Pending, in one transaction; the ids claimed."""
        return {job.id for job in self.claim_jobs(job_ids)}

    def claim_jobs(self, job_ids: list[str]) -> list[Job]:
        """Claim those of ``job_ids`` still Pending, in one transaction: the claimed jobs,
        whole (payloads loaded), in the order asked. Rows another manager is claiming at this
        moment are skipped, not waited for."""
        if not job_ids:
            return []
        now = time.time()
        pending = and_(jobs.c.status == JobStatus.PENDING.value, self._runnable_here())
        free = (
            select(jobs.c.id)
            .where(jobs.c.id.in_(job_ids), pending)
            .with_for_update(skip_locked=True)
        )
        values = {
            "status": JobStatus.RUNNING.value,
            "attempts": jobs.c.attempts + 1,
            "started_at": datetime.now(UTC),
            "owner": self.owner,
            "lease_until": now + self.lease,
        }
        claim = update(jobs).where(jobs.c.id.in_(free), pending).values(**values)
        with self._db.write() as conn:
            rows = conn.execute(claim.returning(*jobs.c)).mappings().all()
        found = {row["id"]: to_job(row, self._payloads) for row in rows}
        return [found[job_id] for job_id in job_ids if job_id in found]

    def renew(self, job_ids: Iterable[str]) -> set[str]:
        """Extend this manager's leases on ``job_ids``; the ids it still holds (a job cancelled
        meanwhile, or run again elsewhere after its lease ran out, is not among them)."""
        ids = list(job_ids)
        if not ids:
            return set()
        held: set[str] = set()
        until = time.time() + self.lease
        with self._db.write() as conn:
            for start in range(0, len(ids), 500):
                where = and_(jobs.c.id.in_(ids[start : start + 500]), self._mine())
                renewal = update(jobs).where(where).values(lease_until=until)
                held.update(row[0] for row in conn.execute(renewal.returning(jobs.c.id)))
        return held

    def recover_expired(self) -> int:
        """Jobs whose manager stopped renewing their lease (it died) run again; the cut-short
        attempt is not counted. How many."""
        expired = and_(
            jobs.c.status == JobStatus.RUNNING.value,
            jobs.c.lease_until < time.time(),
            jobs.c.owner != self.owner,  # this one's own run here until it says how they ended
        )
        return self._recover(expired)

    def recover_interrupted(self) -> int:
        """At start: this manager's own Running jobs (it was stopped or died), those of
        managers whose leases ran out, and those of a ledger written before leases."""
        lapsed = or_(
            jobs.c.owner == self.owner,
            jobs.c.owner.is_(None),
            jobs.c.lease_until < time.time(),
        )
        return self._recover(and_(jobs.c.status == JobStatus.RUNNING.value, lapsed))

    def _recover(self, where: ColumnElement[bool]) -> int:
        values = {"status": JobStatus.PENDING.value, "attempts": jobs.c.attempts - 1, **NO_LEASE}
        with self._db.write() as conn:
            return conn.execute(update(jobs).where(where).values(**values)).rowcount

    def _mine(self) -> ColumnElement[bool]:
        return and_(jobs.c.status == JobStatus.RUNNING.value, jobs.c.owner == self.owner)

    def _running(self, job_id: str) -> ColumnElement[bool]:
        """Only a job this manager runs ends: one cancelled meanwhile stays as it was recorded,
        and one another manager took over after this one's lease ran out is that one's."""
        return and_(jobs.c.id == job_id, self._mine())

    def succeed(self, job_id: str, exit_code: int, log: str) -> None:
        """Done, in one transaction: its body is not needed any more (only dead letters run
        again), so its file goes once that is recorded."""
        values = self._ended(JobStatus.SUCCEEDED, exit_code, "", log, dead=False)
        kept, done = self._success

        def work(conn: Connection) -> tuple[str | None, int]:
            name = conn.execute(kept, {"job_id": job_id}).scalar()
            ended = {f"new_{name}": value for name, value in values.items()}
            return name, conn.execute(done, {"job_id": job_id, **ended}).rowcount

        name, count = self._group.run(work)
        if count == 1:
            _remove(self._payload_path(name))

    @functools.cached_property
    def _success(self) -> tuple[Executable, Executable]:
        """``succeed``'s two statements, built once: its body file's name, and the update."""
        running = and_(jobs.c.id == bindparam("job_id"), self._mine())
        kept = select(jobs.c.payload_file).where(running).with_for_update()
        names = self._ended(JobStatus.SUCCEEDED, None, "", "", dead=False)
        bound: dict[str, Any] = {name: bindparam(f"new_{name}") for name in names}
        return kept, update(jobs).where(running).values(**bound, payload_file=None)

    def fail(
        self, job_id: str, exit_code: int | None, reason: str, log: str, retry_in: float | None
    ) -> None:
        """Record a failed attempt: back to Pending after ``retry_in`` s, or a dead letter."""
        if retry_in is None:
            self._finish(job_id, JobStatus.FAILED, exit_code, reason, log, dead=True)
            return
        values = {
            "status": JobStatus.PENDING.value,
            "not_before": time.time() + retry_in,
            "exit_code": exit_code,
            "reason": reason,
            "log": log,
            **NO_LEASE,
        }
        self._execute(update(jobs).where(self._running(job_id)).values(**values))

    def _finish(
        self, job_id: str, status: JobStatus, code: int | None, reason: str, log: str, dead: bool
    ) -> None:
        values = self._ended(status, code, reason, log, dead)
        self._execute(update(jobs).where(self._running(job_id)).values(**values))

    def _execute(self, statement: Any) -> None:
        """One write, committed with whatever other jobs write at the same moment."""
        self._group.run(lambda conn: conn.execute(statement))

    @staticmethod
    def _ended(
        status: JobStatus, code: int | None, reason: str, log: str, dead: bool
    ) -> dict[str, Any]:
        return {
            "status": status.value,
            "exit_code": code,
            "reason": reason,
            "log": log,
            "dead": dead,
            "finished_at": datetime.now(UTC),
            "lease_until": None,
        }

    def requeue(self, job_id: str, delay: float, reason: str) -> None:
        """Running → Pending again without counting the attempt: it was cut short by the
        machine (a full disk), not by the job."""
        values = {
            "status": JobStatus.PENDING.value,
            "attempts": jobs.c.attempts - 1,
            "not_before": time.time() + delay,
            "reason": reason,
            **NO_LEASE,
        }
        with self._db.write() as conn:
            conn.execute(update(jobs).where(self._running(job_id)).values(**values))

    def retry(self, service: str, job_id: str) -> Job:
        """Run a dead letter again from scratch."""
        job = self.get(service, job_id)
        if not job.dead:
            raise Invalid(
                f"job {job_id!r} is {job.status.value}, not a dead letter; only those re-run"
            )
        values = {
            "status": JobStatus.PENDING.value,
            "attempts": 0,
            "dead": False,
            "not_before": 0.0,
            "finished_at": None,
            "reason": "",
            **NO_LEASE,
        }
        with self._db.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
        return self.get(service, job_id)

    def load(self, job_id: str) -> Job:
        """The whole job, payload included, also when its log was deleted meanwhile."""
        with self._db.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise NotFound(f"job {job_id!r} not found")
        return to_job(row, self._payloads)

    def attempts(self, job_id: str) -> int:
        """Attempts made so far, also for a job whose log was deleted while it ran."""
        with self._db.read() as conn:
            found = conn.execute(select(jobs.c.attempts).where(jobs.c.id == job_id)).scalar()
        return int(found or 0)

    def get(self, service: str, job_id: str) -> Job:
        row = self._row(service, job_id)
        return to_job(row, self._payloads)

    def log_of(self, service: str, job_id: str) -> str:
        return str(self._row(service, job_id)["log"])

    def _row(self, service: str, job_id: str) -> Any:
        query = select(jobs).where(
            jobs.c.id == job_id, jobs.c.service == service, jobs.c.hidden.is_(False)
        )
        with self._db.read() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"job {job_id!r} of service {service!r} not found")
        return row

    def page(
        self, service: str, page: str = "", size: int = PAGE_SIZE, dead: bool = False
    ) -> JobPage:
        offset = page_offset(page)
        where = and_(jobs.c.service == service, jobs.c.hidden.is_(False))
        if dead:
            where = and_(where, jobs.c.dead.is_(True))
        query = select(jobs).where(where).order_by(jobs.c.created_at, jobs.c.id)
        with self._db.read() as conn:
            total = conn.execute(select(func.count()).select_from(jobs).where(where)).scalar_one()
            rows = conn.execute(query.offset(offset).limit(size)).mappings().all()
        remaining = max(0, total - offset - len(rows))
        next_page = str(offset + len(rows)) if remaining else ""
        return JobPage([to_job(row, self._payloads) for row in rows], next_page, remaining)

    def hide(self, service: str, job_id: str | None = None, *, all_states: bool = False) -> int:
        """Delete logs: the record stays (so its upload is never re-run) but is no longer shown."""
        where = and_(jobs.c.service == service, jobs.c.hidden.is_(False))
        if job_id is not None:
            self._row(service, job_id)
            where = and_(where, jobs.c.id == job_id)
        elif not all_states:
            where = and_(where, jobs.c.status == JobStatus.SUCCEEDED.value)
        else:
            where = and_(where, jobs.c.status.in_(FINISHED))
        values = {"hidden": True, "log": "", "payload": None, "payload_file": None}
        with self._db.write() as conn:
            self._drop_payloads(conn, where)
            return conn.execute(update(jobs).where(where).values(**values)).rowcount

    def cancel_service(self, service: str, reason: str) -> int:
        """Pending and Running jobs of ``service`` end as Failed with ``reason`` (not dead
        letters: there is nothing to run them with); their bodies go. How many."""
        where = and_(
            jobs.c.service == service,
            jobs.c.status.in_((JobStatus.PENDING.value, JobStatus.RUNNING.value)),
        )
        values = {
            "status": JobStatus.FAILED.value,
            "reason": reason,
            "finished_at": datetime.now(UTC),
            "dead": False,
            "payload_file": None,
            "lease_until": None,
        }
        with self._db.write() as conn:
            self._drop_payloads(conn, where)
            return conn.execute(update(jobs).where(where).values(**values)).rowcount

    def service_counts(self, service: str) -> tuple[dict[str, int], int]:
        """The service's shown jobs by status, and how many are dead letters: one query that
        reads no rows (for the web UI's views)."""
        dead = func.sum(case((jobs.c.dead.is_(True), 1), else_=0))
        where = and_(jobs.c.service == service, jobs.c.hidden.is_(False))
        query = select(jobs.c.status, func.count(), dead).where(where).group_by(jobs.c.status)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return {row[0]: int(row[1]) for row in rows}, sum(int(row[2] or 0) for row in rows)

    def counts(self) -> dict[str, int]:
        query = select(jobs.c.status, func.count()).group_by(jobs.c.status)
        with self._db.read() as conn:
            return {status: count for status, count in conn.execute(query).all()}


def new_owner() -> str:
    """A name for a manager in a shared ledger: unique, and telling where it runs."""
    return f"{socket.gethostname()[:80]}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def _remove(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)
