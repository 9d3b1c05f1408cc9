"""Two managers on one database (two platforms, each with its own data dir, connections and
dispatcher, over one object store): every job runs exactly once, the work is shared, and the jobs
of a manager that died are run by the other once their lease has run out, not before."""

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from sluice.domain.job import JobStatus, ObjectRef
from sluice.domain.results import JobReport
from sluice.domain.service import Service
from sluice.execution.fake import FakeExecutor
from sluice.server.platform import Platform
from sluice.state.schema import jobs
from sluice.storage.memory import MemoryStorage
from tests.inprocess.conftest import jobs_of, make_platform, service_body, wait_for, wait_status
from tests.postgres import both_databases

pytestmark = both_databases


@pytest.fixture
def shared_url(tmp_path: Path, database_url: str | None) -> str:
    """One database for both: the PostgreSQL one, or a SQLite file outside both data dirs."""
    return database_url or f"sqlite:///{tmp_path / 'shared.db'}"


@pytest.fixture
def key() -> str:
    return Fernet.generate_key().decode()


def start(
    tmp_path: Path, name: str, executor: FakeExecutor, store: MemoryStorage, url: str, key: str
) -> Platform:
    platform = make_platform(tmp_path / name, executor, store, url, key)
    platform.start()
    return platform


@pytest.fixture
def managers(
    tmp_path: Path, store: MemoryStorage, shared_url: str, key: str
) -> Iterator[tuple[tuple[Platform, FakeExecutor], tuple[Platform, FakeExecutor]]]:
    first, second = FakeExecutor(slots=2, hold=True), FakeExecutor(slots=2, hold=True)
    a = start(tmp_path, "a", first, store, shared_url, key)
    b = start(tmp_path, "b", second, store, shared_url, key)
    try:
        yield (a, first), (b, second)
    finally:
        a.stop()
        b.stop()


def submit(platform: Platform, service: Service, key: str) -> None:
    platform.jobs.submit_object(
        service, ObjectRef("minio.default", "echo", f"in/{key}", "e1"), b"{}"
    )


def test_two_managers_share_the_work_and_run_every_job_exactly_once(
    managers: tuple[tuple[Platform, FakeExecutor], tuple[Platform, FakeExecutor]],
) -> None:
    (a, first), (b, second) = managers
    service = a.services.create(service_body()).record.service
    for n in range(40):  # each upload's event reaches both managers
        submit(a, service, f"f{n}")
        submit(b, service, f"f{n}")
    assert len(jobs_of(a, "echo")) == 40
    # Each runs two at a time and holds them: the other two must have been taken by the other.
    first.wait_started(2)
    second.wait_started(2)
    first.hold = second.hold = False
    for execution in [*first.started, *second.started]:
        execution.finish([JobReport(True, 0, "", "held\n") for _ in execution.jobs])

    done = wait_status(a, "echo", JobStatus.SUCCEEDED, 40)
    runs = Counter(job.id for e in [*first.started, *second.started] for job in e.jobs)
    assert set(runs) == {job.id for job in done}
    assert [job_id for job_id, times in runs.items() if times != 1] == []
    assert sum(runs.values()) == 40
    assert {job.attempts for job in done} == {1}
    assert len(first.started) >= 2 and len(second.started) >= 2


def test_a_dead_managers_jobs_run_on_the_other_once_their_lease_has_run_out(
    tmp_path: Path, store: MemoryStorage, shared_url: str, key: str
) -> None:
    dying = FakeExecutor(slots=2, hold=True)
    a = start(tmp_path, "a", dying, store, shared_url, key)
    service = a.services.create(service_body()).record.service
    for n in range(2):
        submit(a, service, f"f{n}")
    dying.wait_started(2)
    a.stop()  # as a crash leaves them: Running, in a's name, its lease no longer renewed
    assert {job.status for job in jobs_of(a, "echo")} == {JobStatus.RUNNING}

    survivor = FakeExecutor(slots=4)
    b = make_platform(tmp_path / "b", survivor, store, shared_url, key)
    b.jobs.ledger.lease = 0.2  # b looks for lapsed leases every 0.05 s
    b.start()
    try:
        time.sleep(0.5)  # ten looks: a's leases (a minute) have not run out
        assert survivor.started == []
        with b.jobs.ledger._db.write() as conn:  # a minute passes
            conn.execute(update(jobs).values(lease_until=0.0))
        done = wait_status(b, "echo", JobStatus.SUCCEEDED, 2)
        assert {job.attempts for job in done} == {1}  # the cut-short attempt is not counted
        ran = Counter(job.id for execution in survivor.started for job in execution.jobs)
        assert sorted(ran.values()) == [1, 1]
    finally:
        b.stop()


def lease_of(platform: Platform, job_id: str) -> float:
    with platform.jobs.ledger._db.read() as conn:
        found = conn.execute(select(jobs.c.lease_until).where(jobs.c.id == job_id)).scalar()
    return float(found or 0.0)


def test_a_running_job_keeps_its_lease_and_loses_its_run_when_taken_away(
    tmp_path: Path, store: MemoryStorage, shared_url: str, key: str
) -> None:
    holding = FakeExecutor(slots=2, hold=True)
    a = make_platform(tmp_path / "a", holding, store, shared_url, key)
    a.jobs.ledger.lease = 0.4  # renewed every 0.1 s
    a.start()
    try:
        service = a.services.create(service_body()).record.service
        submit(a, service, "kept")
        submit(a, service, "taken")
        kept, taken = (e.jobs[0].id for e in holding.wait_started(2))
        first = lease_of(a, kept)
        wait_for(lambda: lease_of(a, kept) > first + 0.2, what="the lease to be renewed")

        # Another manager took one over (a's lease on it had run out, say): a stops its run
        # and records nothing for it.
        with a.jobs.ledger._db.write() as conn:
            took = {"owner": "b", "lease_until": time.time() + 3600}
            conn.execute(update(jobs).where(jobs.c.id == taken).values(**took))
        [run] = [e for e in holding.started if e.jobs[0].id == taken]
        wait_for(lambda: run.cancelled, what="the run taken away to be stopped")
        assert a.jobs.ledger.load(taken).status is JobStatus.RUNNING  # b's, as b left it
        assert a.jobs.ledger.load(kept).status is JobStatus.RUNNING
        [other] = [e for e in holding.started if e.jobs[0].id == kept]
        assert not other.cancelled
    finally:
        a.stop()


def test_a_manager_keeps_its_name_across_restarts_and_another_has_its_own(
    tmp_path: Path, store: MemoryStorage, shared_url: str, key: str
) -> None:
    names = []
    for folder in ("a", "a", "b"):
        platform = make_platform(tmp_path / folder, FakeExecutor(), store, shared_url, key)
        names.append(platform.jobs.ledger.owner)
    assert names[0] == names[1] != names[2]
    assert (tmp_path / "a" / "manager-name").read_text().strip() == names[0]
