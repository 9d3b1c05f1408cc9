"""Opening the state database: a URL Sluice cannot use is refused with a message that names the
setting and shows no password; a database made by an older Sluice gets the columns added since."""

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from sluice.errors import StateError
from sluice.state.database import open_database
from sluice.state.jobs import JobLedger
from tests.postgres import PostgresCluster, both_databases
from tests.sluice_process import free_port


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nonsense", "not a database URL"),
        ("mysql://user:hunter2@127.0.0.1/sluice", "'mysql' is not supported"),
        ("sqlite://", "a SQLite URL names a file"),
    ],
)
def test_a_url_sluice_cannot_use_is_refused_by_name(url: str, says: str) -> None:
    with pytest.raises(StateError) as refused:
        open_database(url)
    message = str(refused.value)
    assert message.startswith("SLUICE_DATABASE_URL: ") and says in message
    assert "hunter2" not in message


def test_a_server_that_is_not_there_is_named_without_its_password() -> None:
    url = f"postgresql://sluice:hunter2@127.0.0.1:{free_port()}/sluice"
    with pytest.raises(StateError) as refused:
        open_database(url)
    message = str(refused.value)
    assert message.startswith("SLUICE_DATABASE_URL: cannot use the state database")
    assert "Connection refused" in message and "hunter2" not in message
    assert "sluice:***@127.0.0.1" in message


def test_a_wrong_password_is_refused_without_showing_it(postgres: PostgresCluster) -> None:
    url = postgres.url("postgres").replace(postgres.password, "hunter2-wrong")
    with pytest.raises(StateError, match="password authentication failed") as refused:
        open_database(url)
    assert "hunter2" not in str(refused.value)


@both_databases
def test_columns_added_since_a_database_was_made_are_added(
    tmp_path: Path, database_url: str | None
) -> None:
    url = database_url or f"sqlite:///{tmp_path / 'old.db'}"
    open_database(url).engine.dispose()
    old = create_engine(url)
    with old.begin() as conn:  # as a Sluice before leases left it
        for column in ("owner", "lease_until", "home"):
            conn.execute(text(f"ALTER TABLE jobs DROP COLUMN {column}"))
    old.dispose()

    db = open_database(url)
    present = {column["name"] for column in inspect(db.engine).get_columns("jobs")}
    assert {"owner", "lease_until", "home"} <= present
    ledger = JobLedger(db, owner="a")
    job = ledger.enqueue("svc", payload=b"{}")
    assert job is not None and ledger.claim(job.id)
    db.engine.dispose()


def test_managers_starting_together_make_the_tables_once(postgres: PostgresCluster) -> None:
    """Replicas of a Deployment start at the same moment on one new database."""
    with postgres.database() as url:
        opened_together(url, 4)


def opened_together(url: str, count: int) -> None:
    import threading

    failures: list[BaseException] = []

    def open_it() -> None:
        try:
            open_database(url).engine.dispose()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_database_server_that_restarts_is_used_again(postgres: PostgresCluster) -> None:
    with postgres.database() as url:
        db = open_database(url)
        ledger = JobLedger(db, owner="a")
        assert ledger.enqueue("svc", payload=b"{}") is not None  # its connection is pooled
        postgres.restart()
        job = ledger.enqueue("svc", payload=b"{}")
        assert job is not None and ledger.claim(job.id)
        assert ledger.counts() == {"Pending": 1, "Running": 1}
        db.engine.dispose()
