"""A throw-away PostgreSQL cluster for the tests: Debian's ``initdb``/``pg_ctl``, on 127.0.0.1 and a
free port, run as an unprivileged user (``postgres`` when the tests run as root), stopped by
``pg_ctl`` (which signals the postmaster's own pid) at the end. One per test session; each test
gets a database of its own."""

import glob
import itertools
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.sluice_process import free_port

USER = "sluice"
INSTALL_HINT = "install it with scripts/install-postgresql"

# Modules that run over both databases mark themselves with this (the ``database_url`` fixture).
both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def pg_bin() -> Path:
    """The newest installed PostgreSQL's programs (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if not found:
        pytest.fail(f"PostgreSQL is not installed (no /usr/lib/postgresql/*/bin); {INSTALL_HINT}")
    return Path(found[-1]).parent


def _version(path: str) -> int:
    return int(Path(path).parent.parent.name.split(".")[0])


@dataclass
class PostgresCluster:
    root: Path
    port: int
    password: str
    owner: str | None = None
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=USER,
            password=self.password,
            dbname="postgres",
            autocommit=True,
        )

    def restart(self) -> None:
        """Stop the server (every connection to it is cut) and start it again, same port. Its
        output goes to the log file again: a server holding our pipes would never let go."""
        pg_ctl = str(pg_bin() / "pg_ctl")
        data, log = str(self.root / "data"), str(self.root / "server.log")
        _run([pg_ctl, "-D", data, "-l", log, "-m", "fast", "-w", "restart"], self.owner)

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new, empty database; dropped afterwards (with whatever is still connected to it)."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield self.url(name)
        finally:
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    if owner is None:
        return command
    return ["setpriv", f"--reuid={owner}", f"--regid={owner}", "--init-groups", *command]


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    bin_dir = pg_bin()
    owner = "postgres" if os.geteuid() == 0 else None  # PostgreSQL refuses to run as root
    root = Path(tempfile.mkdtemp(prefix="sluice-pg-"))
    data, sockets = root / "data", root / "sockets"
    password = secrets.token_hex(16)
    (root / "password").write_text(password)
    sockets.mkdir()
    if owner is not None:
        account = pwd.getpwnam(owner)
        for path in (root, sockets, root / "password"):
            os.chown(path, account.pw_uid, account.pw_gid)
    _run(
        [
            str(bin_dir / "initdb"),
            f"--pgdata={data}",
            f"--username={USER}",
            f"--pwfile={root / 'password'}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        ],
        owner,
    )
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    pg_ctl = str(bin_dir / "pg_ctl")
    log = root / "server.log"
    _run([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"], owner)
    try:
        yield PostgresCluster(root, port, password, owner)
    finally:
        _run([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], owner)
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str], owner: str | None) -> None:
    done = subprocess.run(
        _as_owner(command, owner), capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        pytest.fail(f"{Path(command[0]).name} failed: {done.stdout}{done.stderr}")
