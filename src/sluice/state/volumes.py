"""Managed volumes Sluice has created."""

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from sluice.errors import Conflict
from sluice.state.database import Database
from sluice.state.schema import volumes


@dataclass(frozen=True)
class StoredVolume:
    name: str
    size: str
    owner: str
    creation_mode: str  # "api" or "service"
    created_by_service: str = ""
    lifecycle_policy: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class VolumeStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, volume: StoredVolume) -> None:
        try:
            with self._db.write() as conn:
                conn.execute(insert(volumes).values(**asdict(volume)))
        except IntegrityError:
            raise Conflict(f"a managed volume named {volume.name!r} already exists") from None

    def get(self, name: str) -> StoredVolume | None:
        with self._db.read() as conn:
            row = conn.execute(select(volumes).where(volumes.c.name == name)).mappings().first()
        return _to_stored(row) if row else None

    def all(self) -> list[StoredVolume]:
        with self._db.read() as conn:
            rows = conn.execute(select(volumes).order_by(volumes.c.name)).mappings().all()
        return [_to_stored(row) for row in rows]

    def remove(self, name: str) -> None:
        with self._db.write() as conn:
            conn.execute(delete(volumes).where(volumes.c.name == name))


def _to_stored(row: Any) -> StoredVolume:
    created = row["created_at"]
    return StoredVolume(
        name=row["name"],
        size=row["size"],
        owner=row["owner"],
        creation_mode=row["creation_mode"],
        created_by_service=row["created_by_service"],
        lifecycle_policy=row["lifecycle_policy"],
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
    )
