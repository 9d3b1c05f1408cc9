"""OSCAR's execution log, kept in the state database: one row per /run or /job call."""

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select

from sluice.state.database import Database
from sluice.state.schema import executions


@dataclass(frozen=True)
class Execution:
    at: datetime
    service: str
    kind: str  # "sync" or "async"
    status: int
    latency: float  # seconds
    client_ip: str
    method: str
    path: str
    user: str


class ExecutionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, entries: list[Execution]) -> None:
        if entries:
            with self._db.write() as conn:
                conn.execute(insert(executions), [asdict(entry) for entry in entries])

    def between(
        self, start: datetime, end: datetime, service: str | None = None, limit: int | None = None
    ) -> list[Execution]:
        """Entries from ``start`` (inclusive) to ``end`` (exclusive), oldest first; with a
        limit, the latest ``limit`` of them."""
        where = and_(executions.c.at >= start, executions.c.at < end)
        if service is not None:
            where = and_(where, executions.c.service == service)
        query = (
            select(executions).where(where).order_by(executions.c.at.desc(), executions.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [_to_execution(row) for row in reversed(rows)]

    def prune(self, before: datetime) -> int:
        with self._db.write() as conn:
            return conn.execute(delete(executions).where(executions.c.at < before)).rowcount


def _to_execution(row: Any) -> Execution:
    at = row["at"]
    return Execution(
        at=at if at.tzinfo else at.replace(tzinfo=UTC),
        service=row["service"],
        kind=row["kind"],
        status=row["status"],
        latency=row["latency"],
        client_ip=row["client_ip"],
        method=row["method"],
        path=row["path"],
        user=row["user"],
    )
