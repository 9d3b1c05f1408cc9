"""Stored services with their tokens and owners."""

import copy
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from sluice.crypto import SecretBox
from sluice.domain.secrets import transform
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
    """Tokens and the secrets of definitions are sealed by ``box`` before they are written and
    opened when read: the database never holds them in clear."""

    def __init__(self, db: Database, box: SecretBox | None = None) -> None:
        self._db = db
        self._box = box

    def add(self, name: str, definition: dict[str, Any], token: str, owner: str) -> StoredService:
        now = datetime.now(UTC)
        stored = StoredService(name, definition, token, owner, created_at=now, updated_at=now)
        row = {**asdict(stored), "definition": self._seal(definition), "token": self._sealed(token)}
        try:
            with self._db.write() as conn:
                conn.execute(insert(services).values(**row))
        except IntegrityError:
            raise Conflict(f"a service named {name!r} already exists") from None
        return stored

    def replace(self, name: str, definition: dict[str, Any]) -> None:
        with self._db.write() as conn:
            result = conn.execute(
                update(services)
                .where(services.c.name == name)
                .values(definition=self._seal(definition), updated_at=datetime.now(UTC))
            )
        if result.rowcount == 0:
            raise NotFound(f"service {name!r} not found")

    def get(self, name: str) -> StoredService:
        with self._db.read() as conn:
            row = conn.execute(select(services).where(services.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"service {name!r} not found")
        return self._opened(row)

    def all(self) -> list[StoredService]:
        with self._db.read() as conn:
            rows = conn.execute(select(services).order_by(services.c.name)).mappings().all()
        return [self._opened(row) for row in rows]

    def versions(self) -> dict[str, datetime]:
        """Every service's name and when it last changed: cheap, to tell what to read again."""
        with self._db.read() as conn:
            rows = conn.execute(select(services.c.name, services.c.updated_at)).all()
        return {name: _utc(updated) for name, updated in rows}

    def some(self, names: list[str]) -> list[StoredService]:
        found: list[StoredService] = []
        with self._db.read() as conn:
            for start in range(0, len(names), 500):
                query = select(services).where(services.c.name.in_(names[start : start + 500]))
                found.extend(self._opened(row) for row in conn.execute(query).mappings())
        return found

    def seal_all(self) -> int:
        """Seal what a database written before encryption holds in clear; how many rows."""
        if self._box is None:
            return 0
        changed = 0
        for stored in self.all():
            with self._db.write() as conn:
                values = {
                    "definition": self._seal(stored.definition),
                    "token": self._sealed(stored.token),
                }
                conn.execute(
                    update(services).where(services.c.name == stored.name).values(**values)
                )
            changed += 1
        return changed

    def _seal(self, definition: dict[str, Any]) -> dict[str, Any]:
        if self._box is None:
            return definition
        sealed = copy.deepcopy(definition)
        transform(sealed, self._box.seal)
        return sealed

    def _sealed(self, token: str) -> str:
        return token if self._box is None else self._box.seal(token)

    def _opened(self, row: Any) -> StoredService:
        stored = _to_stored(row)
        if self._box is None:
            return stored
        transform(stored.definition, self._box.open)
        return replace(stored, token=self._box.open(stored.token))

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
