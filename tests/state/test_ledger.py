"""The job ledger itself, on SQLite and on PostgreSQL: claims, leases, recovery, and two managers
(two ledgers with their own connections, as two processes have) claiming the same jobs."""

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from sluice.domain.job import JobStatus, ObjectRef
from sluice.state.database import Database, open_database
from sluice.state.jobs import JobLedger
from sluice.state.schema import jobs
from tests.postgres import both_databases

pytestmark = both_databases


@pytest.fixture
def url(tmp_path: Path, database_url: str | None) -> str:
    return database_url or f"sqlite:///{tmp_path / 'sluice.db'}"


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = open_database(url)
    yield database
    database.engine.dispose()


@pytest.fixture
def other_db(url: str) -> Iterator[Database]:
    """The same database through a second engine: another manager's connections."""
    database = open_database(url)
    yield database
    database.engine.dispose()


def ref(key: str, etag: str = "e1") -> ObjectRef:
    return ObjectRef("minio.default", "svc", f"in/{key}", etag)


def enqueue(ledger: JobLedger, count: int) -> list[str]:
    made = [ledger.enqueue("svc", source=ref(f"f{n}")) for n in range(count)]
    return [job.id for job in made if job is not None]


def expire_leases(db: Database) -> None:
    """What the passing of a lease's time does to it, without waiting for it."""
    with db.write() as conn:
        conn.execute(update(jobs).where(jobs.c.lease_until.is_not(None)).values(lease_until=0.0))


def test_a_job_is_claimed_once_and_counts_an_attempt(db: Database, other_db: Database) -> None:
    mine, theirs = JobLedger(db, owner="a"), JobLedger(other_db, owner="b")
    [job_id] = enqueue(mine, 1)
    assert mine.claim_many([job_id, "no-such-job"]) == {job_id}
    assert theirs.claim_many([job_id]) == set()
    assert not mine.claim(job_id)
    job = mine.load(job_id)
    assert job.status is JobStatus.RUNNING and job.attempts == 1
    assert theirs.due() == []


def test_two_managers_with_many_threads_run_every_job_exactly_once(
    db: Database, other_db: Database
) -> None:
    """Eight workers, four per manager, each taking what ``due`` offers and claiming it, the
    way the dispatcher does, until nothing is left. Every job is run by exactly one of them."""
    ledgers = [JobLedger(db, owner="a"), JobLedger(other_db, owner="b")]
    expected = set(enqueue(ledgers[0], 120))
    runs: list[tuple[str, str]] = []
    runs_lock = threading.Lock()
    start = threading.Barrier(8)

    def work(ledger: JobLedger) -> None:
        start.wait()
        while offered := ledger.due(limit=16):
            for job_id in ledger.claim_many([job.id for job in offered]):
                with runs_lock:
                    runs.append((job_id, ledger.owner))
                ledger.succeed(job_id, 0, f"ran by {ledger.owner}\n")

    threads = [threading.Thread(target=work, args=(ledgers[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    counted = Counter(job_id for job_id, _ in runs)
    assert set(counted) == expected
    assert [job_id for job_id, times in counted.items() if times != 1] == []
    assert len(runs) == 120
    finished = [ledgers[0].load(job_id) for job_id in expected]
    assert {(job.status, job.attempts) for job in finished} == {(JobStatus.SUCCEEDED, 1)}
    # Each job's log names the manager that claimed it: no end was recorded by the other.
    owners = dict(runs)
    assert all(ledgers[0].log_of("svc", job.id) == f"ran by {owners[job.id]}\n" for job in finished)


def test_a_running_job_of_a_live_manager_is_left_alone_by_another_that_starts(
    db: Database, other_db: Database
) -> None:
    first, second = JobLedger(db, owner="a"), JobLedger(other_db, owner="b")
    [job_id] = enqueue(first, 1)
    first.claim(job_id)
    assert second.recover_interrupted() == 0
    assert second.recover_expired() == 0
    assert first.renew([job_id]) == {job_id}
    assert first.load(job_id).status is JobStatus.RUNNING


def test_a_dead_managers_jobs_run_again_elsewhere_once_its_lease_ran_out(
    db: Database, other_db: Database
) -> None:
    dead, alive = JobLedger(db, owner="a"), JobLedger(other_db, owner="b")
    [job_id] = enqueue(dead, 1)
    dead.claim(job_id)
    expire_leases(db)
    assert alive.recover_expired() == 1
    assert alive.claim(job_id)
    assert alive.load(job_id).attempts == 1  # the cut-short attempt is not counted

    # The first manager was not dead after all: what it says now changes nothing.
    assert dead.renew([job_id]) == set()
    dead.succeed(job_id, 0, "late\n")
    dead.fail(job_id, 1, "late", "late\n", retry_in=0.0)
    dead.requeue(job_id, 0.0, "late")
    assert alive.load(job_id).status is JobStatus.RUNNING
    alive.succeed(job_id, 0, "on time\n")
    assert (alive.load(job_id).status, alive.log_of("svc", job_id)) == (
        JobStatus.SUCCEEDED,
        "on time\n",
    )


def test_a_manager_never_requeues_its_own_running_jobs_while_it_runs(db: Database) -> None:
    ledger = JobLedger(db, owner="a")
    [job_id] = enqueue(ledger, 1)
    ledger.claim(job_id)
    expire_leases(db)  # its renewals were late (a slow disk, a stalled loop)
    assert ledger.recover_expired() == 0
    assert ledger.renew([job_id]) == {job_id}


def test_a_restarted_manager_takes_back_its_own_jobs_at_once(
    db: Database, other_db: Database
) -> None:
    before, other = JobLedger(db, owner="a"), JobLedger(other_db, owner="b")
    mine, theirs = enqueue(before, 2)
    before.claim(mine)
    other.claim(theirs)
    after = JobLedger(other_db, owner="a")  # the same manager, started again
    assert after.recover_interrupted() == 1
    assert after.load(mine).status is JobStatus.PENDING and after.load(mine).attempts == 0
    assert after.load(theirs).status is JobStatus.RUNNING


def test_a_cancelled_job_is_no_longer_held_and_its_end_is_not_recorded(db: Database) -> None:
    ledger = JobLedger(db, owner="a")
    running, waiting = enqueue(ledger, 2)
    ledger.claim(running)
    assert ledger.cancel_service("svc", "cancelled: the service was deleted") == 2
    assert ledger.renew([running]) == set()
    ledger.succeed(running, 0, "done anyway\n")
    ended = [ledger.load(job_id) for job_id in (running, waiting)]
    assert {(job.status, job.reason) for job in ended} == {
        (JobStatus.FAILED, "cancelled: the service was deleted")
    }


def test_a_failed_attempt_waits_for_its_retry_and_a_dead_letter_runs_again(db: Database) -> None:
    ledger = JobLedger(db, owner="a")
    [job_id] = enqueue(ledger, 1)
    ledger.claim(job_id)
    ledger.fail(job_id, 3, "exit code 3", "boom\n", retry_in=3600.0)
    assert ledger.load(job_id).status is JobStatus.PENDING
    assert ledger.due() == []  # not before its backoff
    with db.write() as conn:
        conn.execute(update(jobs).values(not_before=0.0))
    assert [job.id for job in ledger.due()] == [job_id]
    ledger.claim(job_id)
    ledger.fail(job_id, 3, "exit code 3", "boom\n", retry_in=None)
    dead = ledger.get("svc", job_id)
    assert (dead.status, dead.dead, dead.attempts) == (JobStatus.FAILED, True, 2)
    again = ledger.retry("svc", job_id)
    assert (again.status, again.attempts, again.dead) == (JobStatus.PENDING, 0, False)


def test_the_same_object_version_gets_one_job_across_managers(
    db: Database, other_db: Database
) -> None:
    first, second = JobLedger(db, owner="a"), JobLedger(other_db, owner="b")
    assert first.enqueue("svc", source=ref("x")) is not None
    assert second.enqueue("svc", source=ref("x")) is None
    assert second.enqueue("svc", source=ref("x", etag="e2")) is not None
    assert second.known_sources("svc", [ref("x"), ref("y")]) == {ref("x").dedupe_key("svc")}
    assert first.counts() == {"Pending": 2}


def test_jobs_enqueued_without_waiting_are_there_once_their_futures_are_done(
    db: Database,
) -> None:
    """The webhook's path: many enqueues in flight at once, answered when committed."""
    ledger = JobLedger(db, owner="a")
    pending = [ledger.enqueue_soon("svc", source=ref(f"f{n % 20}")) for n in range(40)]
    made = [done.result(timeout=30) for done in pending]
    stored = [job for job in made if job is not None]
    assert len(stored) == 20  # each object version once, however many events came for it
    assert {job.source.key for job in stored if job.source} == {f"in/f{n}" for n in range(20)}
    assert ledger.counts() == {"Pending": 20}
    assert {job.id for job in ledger.due(limit=100)} == {job.id for job in stored}


def test_a_job_with_a_body_in_a_file_runs_only_where_the_file_is(
    db: Database, other_db: Database, tmp_path: Path
) -> None:
    here = JobLedger(db, tmp_path / "a-payloads", owner="a")
    there = JobLedger(other_db, tmp_path / "b-payloads", owner="b")
    body = tmp_path / "body"
    body.write_bytes(b"x" * 100)
    job = here.enqueue("svc", payload_file=body)
    assert job is not None and job.payload_file is not None
    assert there.due() == [] and there.claim_many([job.id]) == set()
    assert [due.id for due in here.due()] == [job.id]
    assert here.claim(job.id)
    there.succeed(job.id, 0, "")  # not its job: neither the record nor the file change
    assert job.payload_file.exists() and here.load(job.id).status is JobStatus.RUNNING
    here.succeed(job.id, 0, "")
    assert not job.payload_file.exists()
    assert here.load(job.id).status is JobStatus.SUCCEEDED


def test_pages_list_jobs_oldest_first(db: Database) -> None:
    ledger = JobLedger(db, owner="a")
    made = enqueue(ledger, 5)
    first = ledger.page("svc", size=2)
    assert [job.id for job in first.jobs] == made[:2]
    assert (first.next_page, first.remaining) == ("2", 3)
    rest = ledger.page("svc", page=first.next_page, size=10)
    assert [job.id for job in rest.jobs] == made[2:] and rest.next_page == ""
    ledger.claim(made[0])
    ledger.succeed(made[0], 0, "")
    assert ledger.hide("svc") == 1
    assert [job.id for job in ledger.page("svc").jobs] == made[1:]
