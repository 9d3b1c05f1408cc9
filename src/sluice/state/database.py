"""The state database: SQLite in WAL mode for the embedded default, any SQLAlchemy URL otherwise."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError

from sluice.errors import StateError
from sluice.state.schema import metadata


class Database:
    """Reads run concurrently; writes from this process take turns.

    SQLite lets one writer in at a time and makes the others sleep and retry with growing
    back-offs (up to 100 ms each). Taking turns in-process first avoids those sleeps, which
    otherwise dominate the latency of busy job dispatch.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = threading.Lock() if engine.dialect.name == "sqlite" else None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        if self._writer is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._writer, self.engine.begin() as conn:
            yield conn

    def read(self) -> Connection:
        return self.engine.connect()


REPAIR_HINT = "see docs/operations.md, 'A damaged state database'"


def open_database(url: str) -> Database:
    """Connect, check a SQLite file's integrity, and create missing tables. Raises
    ``StateError`` for a database that is damaged or is not one."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _tune_sqlite)
        _check_sqlite(engine, path)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    _add_missing_columns(engine)
    return Database(engine)


def _check_sqlite(engine: Engine, path: Path) -> None:
    """``PRAGMA quick_check``: a few milliseconds for a small ledger, and it catches damage
    before the manager says it is ready."""
    try:
        with engine.connect() as conn:
            problems = [row[0] for row in conn.execute(text("PRAGMA quick_check")).all()]
    except DBAPIError as exc:
        engine.dispose()
        message = f"the state database {path} is damaged ({exc.orig}); {REPAIR_HINT}"
        raise StateError(message) from None
    if problems != ["ok"]:
        engine.dispose()
        found = "; ".join(problems[:3])
        raise StateError(f"the state database {path} is damaged ({found}); {REPAIR_HINT}")


def _add_missing_columns(engine: Engine) -> None:
    """Columns added since a database was made (nullable, so old rows stay valid)."""
    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    kind = column.type.compile(dialect=engine.dialect)
                    conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))


def _tune_sqlite(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
