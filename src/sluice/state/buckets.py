"""What Sluice keeps about the buckets it manages (OSCAR keeps it as bucket tags)."""

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from sluice.state.database import Database
from sluice.state.schema import buckets


@dataclass(frozen=True)
class StoredBucket:
    name: str
    owner: str
    visibility: str
    allowed_users: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class BucketStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, name: str) -> StoredBucket | None:
        with self._db.read() as conn:
            row = conn.execute(select(buckets).where(buckets.c.name == name)).mappings().first()
        return _to_stored(row) if row else None

    def all(self) -> dict[str, StoredBucket]:
        with self._db.read() as conn:
            rows = conn.execute(select(buckets)).mappings().all()
        return {row["name"]: _to_stored(row) for row in rows}

    def put(self, bucket: StoredBucket) -> None:
        """Insert, or replace what is kept about a bucket of that name."""
        values = asdict(bucket)
        with self._db.write() as conn:
            changed = conn.execute(
                update(buckets).where(buckets.c.name == bucket.name).values(**values)
            ).rowcount
            if not changed:
                conn.execute(insert(buckets).values(**values))

    def remove(self, name: str) -> None:
        with self._db.write() as conn:
            conn.execute(delete(buckets).where(buckets.c.name == name))


def _to_stored(row: Any) -> StoredBucket:
    created = row["created_at"]
    return StoredBucket(
        name=row["name"],
        owner=row["owner"],
        visibility=row["visibility"],
        allowed_users=list(row["allowed_users"]),
        metadata=dict(row["metadata"]),
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
    )
