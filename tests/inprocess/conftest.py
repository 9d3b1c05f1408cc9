"""In-process tests of the middle: the real ledger (SQLite in a temp dir; PostgreSQL too in the
modules marked ``both_databases``), dispatcher, router and routes, with an in-memory object store
and a fake executor. No server, no subprocess."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sluice.api.app import create_app
from sluice.capacity import MachineCapacity
from sluice.domain.job import Job, JobStatus
from sluice.domain.parts import MinIOProvider
from sluice.execution.fake import FakeExecutor
from sluice.server.platform import Platform, build_platform
from sluice.settings import Settings
from sluice.storage.memory import MemoryStorage

ADMIN = ("oscar", "in-process-password")
WEBHOOK_TOKEN = "webhook-token-for-tests"


def make_platform(
    tmp_path: Path,
    executor: FakeExecutor,
    store: MemoryStorage,
    database_url: str | None = None,
    secret_key: str | None = None,
) -> Platform:
    """``database_url``: None for SQLite in the data dir, as ``sluice up`` has it by default;
    managers sharing one database share their ``secret_key`` too."""
    given = {"database_url": database_url, "secret_key": secret_key}
    settings = Settings(
        **{name: value for name, value in given.items() if value is not None},  # else from env
        data_dir=tmp_path,
        admin_password=ADMIN[1],
        retry_backoff=0.05,
        reconcile_interval=3600,
    )
    described = MinIOProvider(
        endpoint="http://memory.invalid", access_key="memory", secret_key="memory-secret"
    )
    return build_platform(
        settings,
        described,
        WEBHOOK_TOKEN,
        store=store,
        executor=executor,
        capacity=MachineCapacity(total_cpu=4, total_memory=8 << 30),
    )


@pytest.fixture
def store() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def executor() -> FakeExecutor:
    return FakeExecutor()


@pytest.fixture
def platform(
    tmp_path: Path, executor: FakeExecutor, store: MemoryStorage, database_url: str | None
) -> Iterator[Platform]:
    platform = make_platform(tmp_path, executor, store, database_url)
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()


@pytest.fixture
def api(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as client:
        client.auth = ADMIN
        yield client


def service_body(name: str = "echo", **fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": name,
        "script": "cat $INPUT_FILE_PATH",
        "cpu": "0.5",
        "memory": "64Mi",
        "input": [{"storage_provider": "minio.default", "path": f"{name}/in"}],
        "output": [{"storage_provider": "minio.default", "path": f"{name}/out"}],
    }
    body.update(fields)
    return body


def wait_for(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what or condition}")


def jobs_of(platform: Platform, service: str) -> list[Job]:
    return platform.jobs.ledger.page(service, size=1000).jobs


def wait_status(platform: Platform, service: str, status: JobStatus, count: int) -> list[Job]:
    def reached() -> bool:
        return sum(job.status is status for job in jobs_of(platform, service)) >= count

    wait_for(reached, what=f"{count} {status.value} job(s) of {service}")
    return [job for job in jobs_of(platform, service) if job.status is status]
