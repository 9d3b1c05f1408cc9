"""Group commit: many threads' writes share transactions, each caller gets its own result once
it is committed, and one failing write does not take the others with it."""

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, insert, select

from sluice.domain.job import JobStatus
from sluice.state.database import Database, open_database
from sluice.state.group_commit import GroupCommit
from sluice.state.schema import jobs


def inserting(job_id: str) -> Callable[[Connection], str]:
    """A write that adds a Pending job named ``job_id`` and says its name."""
    row = {
        "id": job_id,
        "service": "svc",
        "status": JobStatus.PENDING.value,
        "attempts": 0,
        "max_attempts": 1,
        "not_before": 0.0,
        "created_at": datetime.now(UTC),
        "reason": "",
        "log": "",
        "dead": False,
        "hidden": False,
    }

    def work(conn: Connection) -> str:
        conn.execute(insert(jobs).values(**row))
        return job_id

    return work


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'sluice.db'}")
    yield database
    database.engine.dispose()


def stored(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(jobs)).scalar_one())


def test_writes_of_many_threads_share_commits_and_each_gets_its_own_result(db: Database) -> None:
    transactions = 0
    write = db.write

    def counted() -> AbstractContextManager[Connection]:
        nonlocal transactions
        transactions += 1
        return write()

    db.write = counted  # type: ignore[method-assign, assignment]
    group = GroupCommit(db)
    results: dict[str, str] = {}
    start = threading.Barrier(32)

    def writer(n: int) -> None:
        start.wait()
        for k in range(20):
            results[f"{n}-{k}"] = group.run(inserting(f"job-{n}-{k}"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stored(db) == 640
    assert results == {f"{n}-{k}": f"job-{n}-{k}" for n in range(32) for k in range(20)}
    assert transactions < 640  # some transactions carried several writes


def test_a_failing_write_fails_alone_and_the_rest_of_its_group_is_committed(db: Database) -> None:
    group = GroupCommit(db)
    gate, blocking = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def blocker(conn: Connection) -> None:
        blocking.set()
        gate.wait()  # holds the committer while the next writes queue up as one group

    def run(name: str, work: Callable[[Connection], object]) -> None:
        try:
            outcomes[name] = group.run(work)
        except Exception as exc:
            outcomes[name] = exc

    first = threading.Thread(target=run, args=("blocker", blocker))
    first.start()
    assert blocking.wait(10)
    writes = {"a": "a", "dup1": "same", "b": "b", "dup2": "same", "c": "c"}
    threads = [threading.Thread(target=run, args=(n, inserting(i))) for n, i in writes.items()]
    for thread in threads:
        thread.start()
    while group._queue.qsize() < len(writes):  # all of them wait behind the blocker
        threading.Event().wait(0.01)
    gate.set()
    for thread in [first, *threads]:
        thread.join()
    assert [outcomes[n] for n in ("a", "b", "c")] == ["a", "b", "c"]
    duplicates = [outcomes["dup1"], outcomes["dup2"]]
    assert sorted(isinstance(d, Exception) for d in duplicates) == [False, True]
    assert stored(db) == 4  # a, b, c and one "same"
