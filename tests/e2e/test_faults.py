"""Faults while a batch is in flight: the object store killed, a job killed, the manager frozen,
the database locked. Every input ends with exactly one succeeded job and one output (counted),
and events the manager could not take are delivered again by the store, not lost."""

import os
import random
import signal
import sqlite3
import threading
import time
from collections import Counter
from typing import Any

import httpx
import psutil
import pytest
from botocore.exceptions import BotoCoreError, ClientError
from tests.e2e.helpers import all_jobs, keys_under, s3_client, wait_for
from tests.sluice_process import SluiceProcess

FILES = 40


@pytest.fixture(scope="module")
def sluice_env() -> dict[str, str]:
    # No periodic reconciliation: what finds the uploads is the store's event delivery (with its
    # retries), or the scan Sluice starts when it had to restart the store.
    return {"SLUICE_RECONCILE_INTERVAL": "3600", "SLUICE_RETRY_BACKOFF": "0.5"}


@pytest.fixture(scope="module")
def s3(http: httpx.Client) -> Any:
    return s3_client(http)


def copier(http: httpx.Client, name: str, script: str = "") -> None:
    body = {
        "name": name,
        "cpu": "0.2",
        "memory": "64Mi",
        "max_attempts": 5,
        "script": script or 'cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/"',
        "input": [{"storage_provider": "minio.default", "path": f"{name}/in"}],
        "output": [{"storage_provider": "minio.default", "path": f"{name}/out"}],
    }
    assert http.post("/system/services", json=body).status_code == 201


def upload(s3: Any, name: str, count: int = FILES) -> None:
    for index in range(count):
        s3.put_object(Bucket=name, Key=f"in/f{index:03d}.txt", Body=f"{name} {index}".encode())


def outputs(s3: Any, name: str) -> list[str] | None:
    """The outputs so far; None while the store does not answer."""
    try:
        return keys_under(s3, name, "out/")
    except (BotoCoreError, ClientError):
        return None


def exactly_once(http: httpx.Client, s3: Any, name: str, count: int = FILES) -> Counter[str]:
    """Waits for every output; then each input has one succeeded job. The jobs' statuses."""
    expected = [f"out/f{index:03d}.txt" for index in range(count)]
    wait_for(lambda: outputs(s3, name) == expected, timeout=180, what="every output")
    jobs = all_jobs(http, name)
    wait_for(
        lambda: all(j["status"] == "Succeeded" for j in all_jobs(http, name).values()),
        what="every job done",
    )
    details = http.get(f"/system/jobs/{name}").json()["jobs"]
    per_input = Counter(job["input"] for job in details if job["status"] == "Succeeded")
    assert len(per_input) == count and set(per_input.values()) == {1}
    assert len(jobs) == count
    return Counter(job["status"] for job in details)


def test_the_object_store_killed_mid_batch(
    http: httpx.Client, s3: Any, sluice_server: SluiceProcess
) -> None:
    copier(http, "storekill", 'sleep 0.2; cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/"')
    upload(s3, "storekill")
    wait_for(lambda: outputs(s3, "storekill"), what="the first outputs")
    pid = int((sluice_server.data_dir / "seaweedfs" / "weed.pid").read_text().split()[0])
    os.kill(pid, signal.SIGKILL)  # the manager's watchdog restarts it
    exactly_once(http, s3, "storekill")


def test_a_job_killed_mid_batch_is_retried(http: httpx.Client, s3: Any) -> None:
    marker = f"1.{random.randint(1000, 9999)}"  # a sleep of about a second no other test runs
    copier(http, "jobkill", f'sleep {marker} || exit 9; cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/"')
    upload(s3, "jobkill")
    killed = 0
    deadline = time.monotonic() + 30
    while killed < 3 and time.monotonic() < deadline:
        for process in psutil.process_iter(["cmdline"]):
            if process.info["cmdline"] == ["sleep", marker]:
                process.kill()
                killed += 1
                break
        time.sleep(0.3)
    assert killed == 3
    exactly_once(http, s3, "jobkill")
    retried = [j for j in http.get("/system/jobs/jobkill").json()["jobs"] if j["attempts"] > 1]
    assert len(retried) == 3


def test_a_frozen_manager_gets_the_events_it_missed(
    http: httpx.Client, s3: Any, sluice_server: SluiceProcess
) -> None:
    copier(http, "frozen")
    assert sluice_server.process is not None
    manager = sluice_server.process.pid
    os.kill(manager, signal.SIGSTOP)
    try:
        upload(s3, "frozen")  # the store's webhook gets no answer meanwhile
        time.sleep(10)
    finally:
        os.kill(manager, signal.SIGCONT)
    exactly_once(http, s3, "frozen")


def test_a_locked_database_delays_but_loses_nothing(
    http: httpx.Client, s3: Any, sluice_server: SluiceProcess
) -> None:
    copier(http, "locked")
    database = sqlite3.connect(
        sluice_server.data_dir / "sluice.db", timeout=30, check_same_thread=False
    )
    database.execute("BEGIN EXCLUSIVE")
    released = threading.Timer(12, database.rollback)
    released.start()
    try:
        upload(s3, "locked")
        answer = http.get("/system/jobs/locked", timeout=60)
        assert answer.status_code in (200, 503), answer.text  # never a 500
    finally:
        released.join()
        database.close()
    exactly_once(http, s3, "locked")
