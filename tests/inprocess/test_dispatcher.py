"""The dispatcher and the job façade with the real ledger and a fake executor, on SQLite and on
PostgreSQL."""

import itertools
import time
from pathlib import Path

from sluice.core.dispatcher import DUE_PAGE
from sluice.domain.job import Job, JobStatus, ObjectRef
from sluice.domain.results import JobReport
from sluice.domain.service import Service
from sluice.execution.fake import FakeExecutor, succeed
from sluice.server.platform import Platform
from sluice.storage.memory import MemoryStorage
from tests.inprocess.conftest import (
    jobs_of,
    make_platform,
    service_body,
    wait_for,
    wait_status,
)
from tests.postgres import both_databases

pytestmark = both_databases


def create(platform: Platform, name: str = "echo", **fields: object) -> Service:
    return platform.services.create(service_body(name, **fields)).record.service


def submit(platform: Platform, service: Service, key: str, etag: str = "e1") -> Job | None:
    ref = ObjectRef("minio.default", service.name, f"in/{key}", etag)
    return platform.jobs.submit_object(service, ref, b"{}")


def test_a_job_runs_once_and_its_report_is_recorded(
    platform: Platform, executor: FakeExecutor
) -> None:
    service = create(platform)
    job = submit(platform, service, "a.txt")
    assert job is not None
    [done] = wait_status(platform, "echo", JobStatus.SUCCEEDED, 1)
    assert done.id == job.id
    assert done.attempts == 1
    assert platform.jobs.log_of("echo", job.id) == f"ran {job.id}\n"
    assert [e.job_ids for e in executor.started] == [[job.id]]


def test_the_same_object_version_gets_one_job(platform: Platform, executor: FakeExecutor) -> None:
    service = create(platform)
    assert submit(platform, service, "a.txt") is not None
    assert submit(platform, service, "a.txt") is None
    assert submit(platform, service, "a.txt", etag="e2") is not None  # a new version
    wait_status(platform, "echo", JobStatus.SUCCEEDED, 2)
    assert len(jobs_of(platform, "echo")) == 2


def test_failures_are_retried_with_backoff_then_kept_as_a_dead_letter(
    platform: Platform, executor: FakeExecutor
) -> None:
    executor.outcome = lambda job: JobReport(False, 3, "exit code 3", "boom\n")
    service = create(platform, max_attempts=3)
    job = submit(platform, service, "bad.txt")
    assert job is not None
    [dead] = wait_status(platform, "echo", JobStatus.FAILED, 1)
    assert dead.dead
    assert dead.attempts == 3
    assert dead.exit_code == 3
    assert dead.reason == "exit code 3"
    assert len(executor.started) == 3
    starts = [e.jobs[0].started_at for e in executor.started]
    assert all(s is not None for s in starts)
    # Backoff doubles: 0.05 s then 0.1 s between attempts (the settings of these tests).
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]  # type: ignore[operator]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1

    executor.outcome = lambda job: JobReport(True, 0, "", "fine now\n")
    retried = platform.jobs.retry("echo", job.id)
    assert retried.status is JobStatus.PENDING and retried.attempts == 0
    [done] = wait_status(platform, "echo", JobStatus.SUCCEEDED, 1)
    assert done.attempts == 1 and not done.dead


def test_jobs_wait_for_room_and_say_why(platform: Platform, executor: FakeExecutor) -> None:
    executor.hold = True
    executor.slots = 1
    service = create(platform)
    for name in ("a", "b", "c"):
        submit(platform, service, name)
    [first] = executor.wait_started(1)
    time.sleep(0.3)  # several dispatch rounds: nothing else may start
    assert len(executor.started) == 1
    assert platform.jobs.why_waiting(service) == "all 1 fake slots busy"
    statuses = sorted(job.status.value for job in jobs_of(platform, "echo"))
    assert statuses == ["Pending", "Pending", "Running"]

    first.finish([JobReport(True, 0, "")])
    second = executor.wait_started(2)[1]
    second.finish([JobReport(True, 0, "")])
    third = executor.wait_started(3)[2]
    third.finish([JobReport(True, 0, "")])
    wait_status(platform, "echo", JobStatus.SUCCEEDED, 3)
    order = [e.jobs[0].source.key for e in executor.started if e.jobs[0].source]
    assert order == ["in/a", "in/b", "in/c"]  # oldest first


def test_a_job_too_big_to_ever_run_fails_at_once_without_retries(
    platform: Platform, executor: FakeExecutor
) -> None:
    executor.refuse = lambda service: "too big for this machine" if service.name == "huge" else None
    service = create(platform, "huge", max_attempts=5)
    submit(platform, service, "x")
    [dead] = wait_status(platform, "huge", JobStatus.FAILED, 1)
    assert dead.dead and dead.attempts == 1
    assert dead.reason == "too big for this machine"
    assert executor.started == []


def test_handler_style_batches_fill_up_or_wait_their_time(
    platform: Platform, executor: FakeExecutor
) -> None:
    executor.slots = 10
    service = create(platform, "batched", batch_size=3, batch_wait_ms=60_000)
    for name in ("a", "b"):
        submit(platform, service, name)
    time.sleep(0.3)
    assert executor.started == []  # a partial batch waits for more
    submit(platform, service, "c")
    [batch] = executor.wait_started(1)
    assert len(batch.jobs) == 3
    wait_status(platform, "batched", JobStatus.SUCCEEDED, 3)

    quick = create(platform, "quick", batch_size=3, batch_wait_ms=100)
    submit(platform, quick, "only")
    started = executor.wait_started(2)
    assert [len(e.jobs) for e in started] == [3, 1]  # the wait ran out: a batch of one
    waited = (started[1].jobs[0].started_at - started[1].jobs[0].created_at).total_seconds()  # type: ignore[operator]
    assert waited >= 0.1


def test_deleting_a_service_cancels_its_jobs_and_records_them(
    platform: Platform, executor: FakeExecutor
) -> None:
    executor.hold = True
    executor.slots = 1
    service = create(platform)
    submit(platform, service, "running")
    [running] = executor.wait_started(1)
    submit(platform, service, "waiting")
    platform.services.delete("echo")
    assert running.cancelled
    time.sleep(0.2)  # the cancelled run's report arrives: it must not revive the job
    ended = jobs_of(platform, "echo")
    assert [(job.status, job.reason, job.dead) for job in ended] == [
        (JobStatus.FAILED, "cancelled: the service was deleted", False)
    ] * 2
    assert executor.changes[-1][1] is None  # the executor heard of the delete too
    assert len(executor.started) == 1  # the waiting one never started


def test_a_job_cut_short_by_shutdown_runs_again_after_restart(
    tmp_path: Path, store: MemoryStorage, database_url: str | None
) -> None:
    holding = FakeExecutor(hold=True)
    first = make_platform(tmp_path, holding, store, database_url)
    first.start()
    service = create(first)
    submit(first, service, "a")
    holding.wait_started(1)
    first.stop()  # cancels it: a report that must not count as a failed attempt
    [left] = jobs_of(first, "echo")
    assert left.status is JobStatus.RUNNING

    second_executor = FakeExecutor()
    second = make_platform(tmp_path, second_executor, store, database_url)
    second.start()
    try:
        [done] = wait_status(second, "echo", JobStatus.SUCCEEDED, 1)
        assert done.id == left.id
        assert done.attempts == 1  # the interrupted attempt is not counted
    finally:
        second.stop()


def test_payload_jobs_carry_their_body(platform: Platform, executor: FakeExecutor) -> None:
    service = create(platform)
    job = platform.jobs.submit_payload(service, b"aGVsbG8=")
    [execution] = executor.wait_started(1)
    assert execution.jobs[0].id == job.id
    assert execution.jobs[0].payload == b"aGVsbG8="  # loaded whole for the run
    wait_for(lambda: jobs_of(platform, "echo")[0].status is JobStatus.SUCCEEDED)


def test_state_changes_are_published_as_they_happen(
    platform: Platform, executor: FakeExecutor
) -> None:
    import asyncio

    executor.outcome = lambda job: JobReport(False, 2, "exit code 2")
    service = create(platform, max_attempts=2)

    async def watch() -> list[tuple[str, str, int, bool]]:
        seen: list[tuple[str, str, int, bool]] = []
        async with platform.jobs.events.subscribe("echo") as events:
            await asyncio.to_thread(submit, platform, service, "a")
            while not (seen and seen[-1][1] == "Failed"):
                event = await events.next(timeout=10)
                assert event is not None, seen
                seen.append((event.job, event.status.value, event.attempts, event.dead))
        return seen

    seen = asyncio.run(watch())
    assert [(status, attempts, dead) for _, status, attempts, dead in seen] == [
        ("Pending", 0, False),
        ("Running", 1, False),
        ("Pending", 1, False),  # failed, retry due
        ("Running", 2, False),
        ("Failed", 2, True),
    ]
    assert len({job for job, *_ in seen}) == 1


def test_the_jobs_due_in_one_round_are_claimed_in_one_transaction(
    tmp_path: Path, store: MemoryStorage, database_url: str | None
) -> None:
    executor = FakeExecutor(slots=6)
    platform = make_platform(tmp_path, executor, store, database_url)
    ledger = platform.jobs.ledger
    claims: list[list[str]] = []
    real = ledger.claim_jobs

    def counted(job_ids: list[str]) -> list[Job]:
        if job_ids:
            claims.append(job_ids)
        return real(job_ids)

    ledger.claim_jobs = counted  # type: ignore[method-assign]
    service = create(platform)
    made = [submit(platform, service, f"f{n}") for n in range(6)]
    platform.start()  # one round finds all six due
    try:
        wait_status(platform, "echo", JobStatus.SUCCEEDED, 6)
        assert claims[0] == [job.id for job in made if job is not None]
        assert len(claims) == 1
        assert sorted(len(e.jobs) for e in executor.started) == [1] * 6
    finally:
        platform.stop()


def test_a_backlog_of_one_service_does_not_hold_back_another(
    tmp_path: Path, store: MemoryStorage, database_url: str | None
) -> None:
    """Many pages of due jobs of a full service, then one job of another service: it starts
    at once, not after the backlog, and every job of both runs."""
    executor = FakeExecutor(slots=2, hold=True)
    platform = make_platform(tmp_path, executor, store, database_url)
    busy, other = create(platform, "busy"), create(platform, "other")
    backlog = 5 * DUE_PAGE
    for n in range(backlog):
        submit(platform, busy, f"f{n}")
    submit(platform, other, "late")
    platform.start()
    try:
        executor.wait_started(3)  # busy's two slots, and other's job behind the whole backlog
        assert (executor.running("busy"), executor.running("other")) == (2, 1)
        deadline = time.monotonic() + 30
        while len(executor.started) < backlog + 1 and time.monotonic() < deadline:
            for execution in list(executor.started):
                if execution.wait(0) is None:
                    execution.finish([succeed(job) for job in execution.jobs])
            time.sleep(0.005)
        for execution in list(executor.started):
            if execution.wait(0) is None:
                execution.finish([succeed(job) for job in execution.jobs])
        wait_status(platform, "busy", JobStatus.SUCCEEDED, backlog)
        wait_status(platform, "other", JobStatus.SUCCEEDED, 1)
    finally:
        platform.stop()
