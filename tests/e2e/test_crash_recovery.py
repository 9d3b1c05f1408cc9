"""Issue 3: kill -9 the manager in the middle of a 200-file batch; nothing is lost or doubled."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from tests.e2e.helpers import keys_under, s3_client, wait_for
from tests.sluice_process import SluiceProcess

FILES = 200
SCRIPT = """#!/bin/sh
sleep 0.05
cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/$(basename "$INPUT_FILE_PATH").done"
"""


def job_details(http: httpx.Client, service: str) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    page = ""
    while True:
        body = http.get(f"/system/jobs/{service}", params={"page": page}).json()
        jobs += body["jobs"]
        page = body["next_page"]
        if not page:
            return jobs


def upload(s3: Any, names: list[str]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(lambda n: s3.put_object(Bucket="crash", Key=f"in/{n}", Body=n.encode()), names)
        )


def test_kill_9_mid_batch_then_restart(tmp_path: Path) -> None:
    server = SluiceProcess(data_dir=tmp_path / "data", env={"SLUICE_RECONCILE_INTERVAL": "2"})
    server.start()
    try:
        http = server.client()
        body = {
            "name": "crash",
            "cpu": "0.25",
            "memory": "64Mi",
            "script": SCRIPT,
            "input": [{"path": "crash/in"}],
            "output": [{"path": "crash/out"}],
        }
        assert http.post("/system/services", json=body).status_code == 201
        s3 = s3_client(http)
        names = [f"item-{i:03d}.txt" for i in range(FILES)]

        upload(s3, names[:120])
        wait_for(lambda: len(keys_under(s3, "crash", "out/")) >= 20, what="some progress")
        server.kill()
        done_before_crash = len(keys_under(s3, "crash", "out/"))
        assert done_before_crash < FILES

        upload(s3, names[120:])  # while the manager is down: these events go nowhere
        server.start()

        expected = sorted(f"out/{n}.done" for n in names)
        wait_for(
            lambda: keys_under(s3, "crash", "out/") == expected, timeout=180, what="200 outputs"
        )

        def settled() -> list[dict[str, Any]] | None:
            jobs = job_details(http, "crash")
            done = all(job["status"] == "Succeeded" for job in jobs)
            return jobs if len(jobs) >= FILES and done else None

        jobs = wait_for(settled, timeout=60, what="every job to succeed")
        per_input = Counter(job["input"] for job in jobs)
        assert len(jobs) == FILES
        assert set(per_input.values()) == {1}
        assert set(per_input) == {f"minio.default:crash/in/{n}" for n in names}
    finally:
        server.stop()
