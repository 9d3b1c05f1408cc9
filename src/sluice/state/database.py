"""The state database: SQLite in WAL mode for the embedded default, or PostgreSQL (psycopg) that
several managers share; the same tables and queries on both."""

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError

from sluice.errors import StateError
from sluice.state.group_commit import GroupCommit
from sluice.state.schema import metadata


class Database:
    """Reads run concurrently; writes from this process take turns.

    SQLite lets one writer in at a time and makes the others sleep and retry with growing
    back-offs (up to 100 ms each). Taking turns in-process first avoids those sleeps, which
    otherwise dominate the latency of busy job dispatch. A database server (PostgreSQL) locks
    rows instead, so its writers, in this process or another manager's, need no such turns.
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

    @functools.cached_property
    def grouped(self) -> GroupCommit:
        """Writes that many threads make at once (jobs' starts and ends, their lineage),
        committed together (see ``GroupCommit``)."""
        return GroupCommit(self)


REPAIR_HINT = "see docs/operations.md, 'A damaged state database'"
SETTING = "SLUICE_DATABASE_URL"
CONNECT_TIMEOUT = 10  # seconds to reach a database server
SCHEMA_LOCK = 0x51C3  # PostgreSQL advisory lock: managers starting together make tables in turn


def open_database(url: str) -> Database:
    """Connect, check a SQLite file's integrity, and create missing tables. Raises
    ``StateError`` for a URL that names no database Sluice can use, a server that cannot be
    reached, or a database that is damaged or is not one."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed)
    else:
        engine = _server_engine(parsed)
    try:
        _create_schema(engine)
    except DBAPIError as exc:
        engine.dispose()
        where = parsed.render_as_string(hide_password=True)
        message = f"{SETTING}: cannot use the state database {where} ({_why(exc)})"
        raise StateError(message) from None
    return Database(engine)


def _parse(url: str) -> URL:
    """The URL, if it names SQLite or PostgreSQL through psycopg (plain ``postgresql://`` too)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StateError(f"{SETTING}: not a database URL; {URL_HINT}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise StateError(f"{SETTING}: {parsed.drivername!r} is not supported; {URL_HINT}")
    if parsed.get_backend_name() == "sqlite" and not parsed.database:
        raise StateError(f"{SETTING}: a SQLite URL names a file; {URL_HINT}")
    return parsed


URL_HINT = "use sqlite:////path/to/sluice.db or postgresql+psycopg://user:password@host:port/name"


def _sqlite_engine(url: URL) -> Engine:
    path = Path(url.database or "")
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _tune_sqlite)
    _check_sqlite(engine, path)
    return engine


def _server_engine(url: URL) -> Engine:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise StateError(
            f"{SETTING}: PostgreSQL needs psycopg: pip install 'sluice[postgres]'"
        ) from None
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT})


def _create_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        else:  # the write lock at once: what is missing is read and made in one transaction
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        metadata.create_all(conn)
        _add_missing_columns(conn)


def _why(exc: DBAPIError) -> str:
    """The driver's own words, first line only (psycopg adds hints over several lines)."""
    return str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__


def _check_sqlite(engine: Engine, path: Path) -> None:
    """``PRAGMA quick_check``: a few milliseconds for a small ledger, and it catches damage
    before the manager says it is ready."""
    try:
        with engine.connect() as conn:
            problems = [row[0] for row in conn.execute(text("PRAGMA quick_check")).all()]
    except DBAPIError as exc:
        engine.dispose()
        if "locked" in str(exc.orig):  # busy, not damaged: nothing to repair
            message = f"the state database {path} is locked by another process ({exc.orig})"
        else:
            message = f"the state database {path} is damaged ({exc.orig}); {REPAIR_HINT}"
        raise StateError(message) from None
    if problems != ["ok"]:
        engine.dispose()
        found = "; ".join(problems[:3])
        raise StateError(f"the state database {path} is damaged ({found}); {REPAIR_HINT}")


def _add_missing_columns(conn: Connection) -> None:
    """Columns added since a database was made (nullable, so old rows stay valid)."""
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))


def _tune_sqlite(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
