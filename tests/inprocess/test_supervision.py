"""Background loops outlive their failures, and nothing is left Running or lost when the
database refuses a write or the data disk is full."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from sluice.domain.job import JobStatus, ObjectRef
from sluice.domain.results import JobReport
from sluice.execution.fake import FakeExecutor
from sluice.server.platform import Platform
from sluice.storage.memory import MemoryStorage
from tests.inprocess.conftest import jobs_of, service_body, wait_for, wait_status


def submit(platform: Platform, key: str) -> None:
    service = platform.services.get("echo").service
    platform.jobs.submit_object(service, ObjectRef("minio.default", "echo", key, "e"), b"{}")


def test_the_reconciler_survives_a_failing_scan(
    platform: Platform, store: MemoryStorage, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform.services.create(service_body())
    store.put("echo/in/missed.txt", b"x")
    real = store.list_objects
    calls = {"n": 0}

    def flaky(path: str) -> Iterator[Any]:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise RuntimeError("the store hiccupped")
        return real(path)

    monkeypatch.setattr(store, "list_objects", flaky)
    platform.reconciler.scan_soon()  # now, not in an hour
    wait_status(platform, "echo", JobStatus.SUCCEEDED, 1)
    health = platform.loops.report()["reconciler"]
    assert health["restarts"] == 2 and health["state"] == "running"
    assert "the store hiccupped" in str(health["last_error"])
    detail = api.get("/health", params={"detail": "true"}).json()
    assert detail == {
        "status": "ok",
        "loops": {"dispatcher": "running", "reconciler": "running"},
        "jobs_paused": False,
    }


def test_a_report_the_database_refuses_is_recorded_later(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform.services.create(service_body())
    ledger = platform.jobs.ledger
    real = ledger.succeed
    refusals = {"left": 3}

    def locked(job_id: str, exit_code: int, log: str) -> None:
        if refusals["left"]:
            refusals["left"] -= 1
            raise OperationalError("UPDATE jobs", {}, Exception("database is locked"))
        real(job_id, exit_code, log)

    monkeypatch.setattr(ledger, "succeed", locked)
    submit(platform, "in/a")
    [done] = wait_status(platform, "echo", JobStatus.SUCCEEDED, 1)
    assert refusals["left"] == 0 and done.attempts == 1


class FullDisk:
    def __init__(self) -> None:
        self.is_full = True

    def full(self) -> bool:
        return self.is_full

    def describe(self) -> str:
        return "the data disk is full (test)"


def test_while_the_disk_is_full_jobs_wait_and_lose_no_attempt(
    platform: Platform, executor: FakeExecutor, api: TestClient
) -> None:
    platform.services.create(service_body())
    disk = FullDisk()
    dispatcher = platform.jobs._dispatcher
    executor.hold = True
    submit(platform, "in/first")
    [first] = executor.wait_started(1)
    dispatcher._pauses = [lambda: disk.describe() if disk.full() else ""]
    submit(platform, "in/second")
    first.finish([JobReport(False, None, "No space left on device")])
    wait_for(lambda: jobs_of(platform, "echo")[0].status is JobStatus.PENDING)
    time.sleep(0.3)
    assert len(executor.started) == 1  # nothing new starts
    waiting = jobs_of(platform, "echo")
    assert [job.attempts for job in waiting] == [0, 0]  # the cut-short attempt is not counted
    assert waiting[0].reason == "waiting: the data disk is full (test)"
    listed = api.get("/system/jobs/echo").json()["jobs"]
    assert {job["reason"] for job in listed} == {
        "waiting: the data disk is full (test)",
        "the data disk is full (test)",
    }
    assert api.get("/health", params={"detail": "true"}).json()["status"] == "degraded"

    disk.is_full = False
    executor.hold = False
    for execution in executor.wait_started(2)[1:]:
        execution.finish([JobReport(True, 0, "")])
    wait_status(platform, "echo", JobStatus.SUCCEEDED, 2)
    assert [job.attempts for job in jobs_of(platform, "echo")] == [1, 1]
