"""Stored services with their tokens and owners."""

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from sluice.errors import Conflict, NotFound
from sluice.state.database import Database
from sluice.state.schema import services


@dataclass(frozen=True)
class StoredService:
    name: str
    definition: dict[str, Any]
    token: str
    owner: str
    created_at: datetime
    updated_at: datetime


class ServiceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, name: str, definition: dict[str, Any], token: str, owner: str) -> StoredService:
        now = datetime.now(UTC)
        stored = StoredService(name, definition, token, owner, created_at=now, updated_at=now)
        try:
            with self._db.write() as conn:
                conn.execute(insert(services).values(**asdict(stored)))
        except IntegrityError:
            raise Conflict(f"a service named {name!r} already exists") from None
        return stored

    def replace(self, name: str, definition: dict[str, Any]) -> None:
        with self._db.write() as conn:
            result = conn.execute(
                update(services)
                .where(services.c.name == name)
                .values(definition=definition, updated_at=datetime.now(UTC))
            )
        if result.rowcount == 0:
            raise NotFound(f"service {name!r} not found")

    def get(self, name: str) -> StoredService:
        with self._db.read() as conn:
            row = conn.execute(select(services).where(services.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"service {name!r} not found")
        return _to_stored(row)

    def all(self) -> list[StoredService]:
        with self._db.read() as conn:
            rows = conn.execute(select(services).order_by(services.c.name)).mappings().all()
        return [_to_stored(row) for row in rows]

    def remove(self, name: str) -> None:
        with self._db.write() as conn:
            result = conn.execute(delete(services).where(services.c.name == name))
        if result.rowcount == 0:
            raise NotFound(f"service {name!r} not found")


def _to_stored(row: Any) -> StoredService:
    return StoredService(
        name=row["name"],
        definition=row["definition"],
        token=row["token"],
        owner=row["owner"],
        created_at=_utc(row["created_at"]),
        updated_at=_utc(row["updated_at"]),
    )


def _utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
