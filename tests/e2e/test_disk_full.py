"""A full data disk (a small tmpfs here): jobs wait instead of failing, nothing is left Running,
the health check says so, and processing resumes by itself when space returns."""

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.helpers import wait_for
from tests.servers import seaweedfs
from tests.sluice_process import SluiceProcess, running_sluice

MiB = 1024 * 1024
JOBS = 16
SCRIPT = 'sleep 0.3; head -c 3000000 /dev/zero > "$TMP_OUTPUT_DIR/out.bin"'


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    mount = tmp_path_factory.mktemp("small-disk")
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96m,mode=0700", "tmpfs", str(mount)], check=True
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture(scope="module")
def sluice_server(
    small_disk: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SluiceProcess]:
    """Sluice's own files on the small disk; the object store on the big one, so that it is
    Sluice's handling of a full disk that is tested, not the store's."""
    with seaweedfs(tmp_path_factory.mktemp("store")) as store:
        env = {
            "SLUICE_S3_ENDPOINT": store.endpoint,
            "SLUICE_S3_ACCESS_KEY": store.credentials.access_key,
            "SLUICE_S3_SECRET_KEY": store.credentials.secret_key,
            "SLUICE_S3_VERIFY": "false",
            "SLUICE_MIN_FREE_DISK": "24Mi",
            "SLUICE_TOTAL_CPU": "1",
            "SLUICE_RETRY_BACKOFF": "0.2",
        }
        with running_sluice(small_disk / "data", env) as server:
            yield server


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(path).free


def details(http: httpx.Client) -> list[dict[str, Any]]:
    return http.get("/system/jobs/writer").json()["jobs"]  # type: ignore[no-any-return]


def test_jobs_wait_while_the_disk_is_full_and_resume_after(
    http: httpx.Client, small_disk: Path, sluice_server: SluiceProcess
) -> None:
    body = {
        "name": "writer",
        "script": SCRIPT,
        "cpu": "1",
        "memory": "64Mi",
        "output": [{"storage_provider": "minio.default", "path": "writer/out"}],
    }
    assert http.post("/system/services", json=body).status_code == 201
    for index in range(JOBS):
        assert http.post("/job/writer", content=f"job {index}".encode()).status_code == 201
    wait_for(lambda: sum(j["status"] == "Succeeded" for j in details(http)) >= 2, what="2 jobs")

    ballast = small_disk / "ballast"
    with ballast.open("wb") as fill, contextlib.suppress(OSError):
        while free_bytes(small_disk) > 12 * MiB:
            fill.write(b"\0" * MiB)
    try:
        health = wait_for(
            lambda: (
                (h := httpx.get(f"{sluice_server.url}/health?detail=1").json())["jobs_paused"] and h
            ),
            what="the health check to say the disk is full",
        )
        assert health["status"] == "degraded"
        waiting = wait_for(
            lambda: [j for j in details(http) if j["status"] == "Pending"], what="waiting jobs"
        )
        assert all("disk" in job["reason"] and "full" in job["reason"] for job in waiting)
        done_before = sum(j["status"] == "Succeeded" for j in details(http))
        wait_for(
            lambda: not [j for j in details(http) if j["status"] == "Running"], what="none Running"
        )
        assert sum(j["status"] == "Succeeded" for j in details(http)) <= done_before + 1
    finally:
        ballast.unlink()

    wait_for(
        lambda: [j["status"] for j in details(http)] == ["Succeeded"] * JOBS,
        timeout=120,
        what="every job to succeed once space returned",
    )
    jobs = details(http)
    assert [j["dead_letter"] for j in jobs] == [False] * JOBS
    assert [j["attempts"] for j in jobs] == [1] * JOBS  # cut-short attempts were not counted
    assert httpx.get(f"{sluice_server.url}/health?detail=1").json()["status"] == "ok"
