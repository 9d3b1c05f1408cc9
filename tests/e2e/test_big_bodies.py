"""Large /run and /job bodies go to disk, not into the manager's memory or its database; past
SLUICE_MAX_BODY they are refused with 413."""

import base64
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psutil
import pytest
from tests.e2e.helpers import statuses, wait_for
from tests.sluice_process import SluiceProcess

MiB = 1024 * 1024
SCRIPT = 'md5sum "$INPUT_FILE_PATH" | cut -d" " -f1; wc -c < "$INPUT_FILE_PATH"'


@pytest.fixture(scope="module")
def sluice_env() -> dict[str, str]:
    return {"SLUICE_MAX_BODY": "64Mi"}


@pytest.fixture(scope="module")
def service(http: httpx.Client) -> str:
    body = {"name": "digest", "script": SCRIPT, "log_level": "CRITICAL", "memory": "128Mi"}
    assert http.post("/system/services", json=body).status_code == 201
    return "digest"


@contextmanager
def peak_rss(pid: int) -> Iterator[list[int]]:
    """Samples the process's RSS while the block runs; [baseline, peak] in bytes."""
    process = psutil.Process(pid)
    sample = [process.memory_info().rss, 0]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.02):
            sample[1] = max(sample[1], process.memory_info().rss)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield sample
    finally:
        done.set()
        watcher.join()


def chunks(data: bytes, size: int = MiB) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_large_chunked_run_body_is_spooled_not_held(
    http: httpx.Client, service: str, sluice_server: SluiceProcess
) -> None:
    raw = os.urandom(36 * MiB)
    encoded = base64.b64encode(raw)  # 48 MiB on the wire
    assert sluice_server.process is not None
    with peak_rss(sluice_server.process.pid) as rss:
        answer = http.post(f"/run/{service}", content=chunks(encoded), timeout=120)
    assert answer.status_code == 200, answer.text[:500]
    digest, size = answer.text.split()
    assert digest == hashlib.md5(raw).hexdigest() and int(size) == len(raw)  # decoded whole
    grown = rss[1] - rss[0]
    assert grown < 40 * MiB, f"the manager grew by {grown / MiB:.0f} MiB for a 48 MiB body"
    assert list((sluice_server.data_dir / "spool").iterdir()) == []


def test_a_body_over_the_limit_is_refused_early(
    http: httpx.Client, service: str, sluice_server: SluiceProcess
) -> None:
    big = b"x" * (80 * MiB)
    declared = http.post(f"/run/{service}", content=big, timeout=60)
    assert declared.status_code == 413
    assert declared.text == (
        "the request body is larger than the limit of 64Mi (SLUICE_MAX_BODY on the server)"
    )
    streamed = http.post(f"/job/{service}", content=chunks(big), timeout=60)  # no length
    assert streamed.status_code == 413
    assert list((sluice_server.data_dir / "spool").iterdir()) == []
    assert statuses(http, service) == []


def test_a_large_job_body_lives_in_a_file_and_goes_when_the_job_is_done(
    http: httpx.Client, service: str, sluice_server: SluiceProcess
) -> None:
    raw = os.urandom(20 * MiB)
    database = sluice_server.data_dir / "sluice.db"
    before = database.stat().st_size
    answer = http.post(f"/job/{service}", content=raw, timeout=60)
    assert answer.status_code == 201
    job = answer.headers["X-Sluice-Job"]
    wait_for(lambda: statuses(http, service) == ["Succeeded"], what="the job")
    log = http.get(f"/system/logs/{service}/{job}").text
    assert f"{hashlib.md5(raw).hexdigest()}\n{len(raw)}" in log  # not base64: used raw
    assert database.stat().st_size - before < 2 * MiB  # the body never entered the database
    assert list((sluice_server.data_dir / "payloads").iterdir()) == []
