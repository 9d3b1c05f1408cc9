"""Lineage records: the objects each job wrote, and the jobs that crossed to other clusters."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from sluice.state.database import Database
from sluice.state.schema import lineage

OUTPUT = "output"
DELEGATED_TO = "delegated_to"
DELEGATED_FROM = "delegated_from"
NEW_TRACE = insert(lineage)  # built once; each trace's values are bound when it is written


@dataclass(frozen=True)
class Trace:
    job_id: str
    service: str
    kind: str
    store: str
    path: str
    peer: str
    peer_job: str
    at: datetime


class LineageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self,
        job_id: str,
        service: str,
        kind: str,
        *,
        store: str = "",
        path: str = "",
        peer: str = "",
        peer_job: str = "",
    ) -> None:
        row = {"at": datetime.now(UTC), "job_id": job_id, "service": service, "kind": kind}
        row |= {"store": store, "path": path, "peer": peer, "peer_job": peer_job}
        self._db.grouped.run(lambda conn: conn.execute(NEW_TRACE, row))

    def writers(self, store: str, path: str) -> list[Trace]:
        """The jobs that wrote ``path`` into ``store``, newest first."""
        query = select(lineage).where(
            lineage.c.kind == OUTPUT, lineage.c.store == store, lineage.c.path == path
        )
        return self._traces(query.order_by(lineage.c.id.desc()))

    def of_job(self, job_id: str) -> list[Trace]:
        return self._traces(
            select(lineage).where(lineage.c.job_id == job_id).order_by(lineage.c.id)
        )

    def _traces(self, query: Any) -> list[Trace]:
        with self._db.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [_trace(row) for row in rows]


def _trace(row: Any) -> Trace:
    at = row["at"]
    return Trace(
        job_id=row["job_id"],
        service=row["service"],
        kind=row["kind"],
        store=row["store"],
        path=row["path"],
        peer=row["peer"],
        peer_job=row["peer_job"],
        at=at if at.tzinfo else at.replace(tzinfo=UTC),
    )
