"""Read-only questions about the job ledger that the status, deployment and metrics views ask."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select

from sluice.domain.job import JobStatus
from sluice.state.database import Database
from sluice.state.schema import jobs


@dataclass(frozen=True)
class JobSpan:
    service: str
    status: JobStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobStats:
    def __init__(self, db: Database) -> None:
        self._db = db

    def running(self, service: str) -> int:
        where = and_(jobs.c.service == service, jobs.c.status == JobStatus.RUNNING.value)
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).where(where)).scalar_one())

    def latest_logs(self, service: str, count: int) -> list[tuple[str, str]]:
        """(job id, log) of the service's ``count`` most recently finished jobs, oldest first."""
        query = (
            select(jobs.c.id, jobs.c.log)
            .where(jobs.c.service == service, jobs.c.finished_at.is_not(None), jobs.c.log != "")
            .order_by(jobs.c.finished_at.desc())
            .limit(count)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [(row[0], row[1]) for row in reversed(rows)]

    def spans(self, start: datetime, end: datetime, service: str | None = None) -> list[JobSpan]:
        """Jobs created in [start, end), or that ran during it."""
        created = and_(jobs.c.created_at >= start, jobs.c.created_at < end)
        ran = and_(
            jobs.c.started_at < end,
            or_(jobs.c.finished_at.is_(None), jobs.c.finished_at >= start),
        )
        where = or_(created, ran)
        if service is not None:
            where = and_(where, jobs.c.service == service)
        columns = [jobs.c.service, jobs.c.status, jobs.c.created_at, jobs.c.started_at]
        query = select(*columns, jobs.c.finished_at).where(where)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [
            JobSpan(row[0], JobStatus(row[1]), _utc(row[2]), _maybe(row[3]), _maybe(row[4]))
            for row in rows
        ]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _maybe(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)
