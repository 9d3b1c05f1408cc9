"""Issue 8: 300 files at full concurrency, every job right the first time.

Jobs take a tenth of a core each, so twenty run at once on the two cores while uploads keep
arriving from many threads: claims, starts, exits, stage-out and the ledger's writes all race.
No attempt may fail, and each file gives exactly one job and one output.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from tests.e2e.helpers import keys_under, s3_client, wait_for

FILES = 300

COPY_SCRIPT = """#!/bin/sh
set -e
cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/$(basename "$INPUT_FILE_PATH")"
"""


@pytest.fixture(scope="module")
def sluice_env() -> dict[str, str]:
    # Reconciliation scans rarely: every job here must come from its own upload event.
    return {"SLUICE_TOTAL_CPU": "2", "SLUICE_RECONCILE_INTERVAL": "600"}


def job_details(http: httpx.Client, service: str) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    page = ""
    while True:
        body = http.get(f"/system/jobs/{service}", params={"page": page}).json()
        jobs += body["jobs"]
        page = body.get("next_page") or ""
        if not page:
            return jobs


def test_300_files_at_full_concurrency_without_a_failed_attempt(http: httpx.Client) -> None:
    body = {
        "name": "flood",
        "memory": "32Mi",
        "cpu": "0.1",
        "script": COPY_SCRIPT,
        "input": [{"storage_provider": "minio", "path": "flood/in"}],
        "output": [{"storage_provider": "minio", "path": "flood/out"}],
    }
    assert http.post("/system/services", json=body).status_code == 201
    s3 = s3_client(http)
    names = [f"f{i:03d}.txt" for i in range(FILES)]

    def upload(name: str) -> None:
        s3.put_object(Bucket="flood", Key=f"in/{name}", Body=f"payload {name}".encode())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(upload, names))

    def finished() -> list[dict[str, Any]] | None:
        jobs = job_details(http, "flood")
        done = [job for job in jobs if job["status"] in ("Succeeded", "Failed")]
        return jobs if len(done) == FILES else None

    jobs = wait_for(finished, timeout=300, what=f"{FILES} finished jobs")
    assert len(jobs) == FILES, "one job per uploaded file, no more"
    assert sorted(job["input"] for job in jobs) == [f"minio.default:flood/in/{n}" for n in names]
    failed = [job for job in jobs if job["status"] != "Succeeded" or job["attempts"] != 1]
    assert failed == [], f"{len(failed)} jobs needed more than one attempt: {failed[:3]}"
    assert keys_under(s3, "flood", "out/") == [f"out/{n}" for n in names]
    sample = s3.get_object(Bucket="flood", Key="out/f123.txt")["Body"].read()
    assert sample == b"payload f123.txt"
