"""The outbox: what waits, durably, for a cluster that could not be reached (store-and-forward).

Each entry is delivered at most once by this manager: it is marked delivered in the same
database that holds it, and the receiving side makes a repeat harmless (an upload of the same
bytes has the same ETag, which its job ledger already has; a delegated job keeps its id).
"""

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from sluice.state.database import Database
from sluice.state.schema import outbox


@dataclass(frozen=True)
class Parcel:
    id: str
    kind: str  # "upload" or "delegate"
    service: str
    job_id: str
    target: str
    store: str
    path: str
    spool: str | None
    body: bytes | None
    attempts: int
    last_error: str


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self,
        kind: str,
        service: str,
        target: str,
        store: str,
        *,
        job_id: str = "",
        path: str = "",
        spool: str | None = None,
        body: bytes | None = None,
        error: str = "",
    ) -> str:
        ident = uuid.uuid4().hex
        row = {"id": ident, "seq": time.time(), "kind": kind, "service": service}
        row |= {"job_id": job_id, "target": target, "store": store, "path": path}
        row |= {"spool": spool, "body": body, "attempts": 0, "last_error": error}
        row |= {"not_before": 0.0, "delivered_at": None}
        with self._db.write() as conn:
            conn.execute(insert(outbox).values(**row))
        return ident

    def waiting(self, store: str | None = None, limit: int = 100) -> list[Parcel]:
        """Undelivered entries, oldest first (of one store when ``store`` is given)."""
        query = select(outbox).where(outbox.c.delivered_at.is_(None))
        if store is not None:
            query = query.where(outbox.c.store == store)
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(outbox.c.seq).limit(limit)).mappings().all()
        return [_parcel(row) for row in rows]

    def holds(self, store: str) -> bool:
        """Whether anything for ``store`` still waits (new entries then queue behind it)."""
        return bool(self.waiting(store, limit=1))

    def delivered(self, ident: str) -> bool:
        """Mark it delivered; False if it already was (another delivery got there first)."""
        with self._db.write() as conn:
            done = conn.execute(
                update(outbox)
                .where(outbox.c.id == ident, outbox.c.delivered_at.is_(None))
                .values(delivered_at=datetime.now(UTC))
            )
        return done.rowcount == 1

    def failed(self, ident: str, error: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == ident)
                .values(attempts=outbox.c.attempts + 1, last_error=error[:2000])
            )

    def counts(self) -> dict[str, int]:
        """How many entries wait and how many were delivered."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(outbox.c.delivered_at.is_(None), func.count()).group_by(
                    outbox.c.delivered_at.is_(None)
                )
            ).all()
        found = {bool(waiting): int(count) for waiting, count in rows}
        return {"waiting": found.get(True, 0), "delivered": found.get(False, 0)}

    def listing(self, limit: int = 100) -> list[dict[str, Any]]:
        """Waiting entries for people: no bodies, no credentials."""
        return [
            {
                "id": p.id,
                "kind": p.kind,
                "service": p.service,
                "job": p.job_id,
                "to": p.target,
                "path": p.path,
                "attempts": p.attempts,
                "last_error": p.last_error,
            }
            for p in self.waiting(limit=limit)
        ]


def _parcel(row: Any) -> Parcel:
    return Parcel(
        id=row["id"],
        kind=row["kind"],
        service=row["service"],
        job_id=row["job_id"],
        target=row["target"],
        store=row["store"],
        path=row["path"],
        spool=row["spool"],
        body=row["body"],
        attempts=row["attempts"],
        last_error=row["last_error"],
    )
