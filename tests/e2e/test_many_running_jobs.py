"""Issue 8: a job waiting for its process holds no thread of the manager.

Ninety small jobs that sleep fit on two cores at once (a hundredth of a core each). All of them
run side by side, more than the manager's staging threads (64), and the manager does not grow
a thread per job while they wait; then each succeeds with its output.
"""

import httpx
import psutil
import pytest
from tests.e2e.helpers import keys_under, s3_client, statuses, wait_for
from tests.sluice_process import SluiceProcess

FILES = 90

SLEEPY_SCRIPT = """#!/bin/sh
set -e
sleep 4
cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/$(basename "$INPUT_FILE_PATH")"
"""


@pytest.fixture(scope="module")
def sluice_env() -> dict[str, str]:
    return {"SLUICE_TOTAL_CPU": "2", "SLUICE_RECONCILE_INTERVAL": "600"}


def test_ninety_sleeping_jobs_run_at_once_without_a_thread_each(
    http: httpx.Client, sluice_server: SluiceProcess
) -> None:
    body = {
        "name": "sleepers",
        "memory": "16Mi",
        "cpu": "0.01",
        "script": SLEEPY_SCRIPT,
        "input": [{"storage_provider": "minio", "path": "sleepers/in"}],
        "output": [{"storage_provider": "minio", "path": "sleepers/out"}],
    }
    assert http.post("/system/services", json=body).status_code == 201
    assert sluice_server.process is not None
    manager = psutil.Process(sluice_server.process.pid)
    threads_idle = manager.num_threads()
    s3 = s3_client(http)
    names = [f"s{i:02d}.txt" for i in range(FILES)]
    for name in names:
        s3.put_object(Bucket="sleepers", Key=f"in/{name}", Body=name.encode())

    def all_sleeping() -> int | None:
        """The jobs' own processes, not only their records: all of them at once."""
        sleeping = 0
        for process in manager.children(recursive=True):
            try:
                sleeping += process.name() == "sleep"
            except psutil.Error:
                continue
        return sleeping if sleeping == FILES else None

    wait_for(all_sleeping, timeout=60, what=f"{FILES} jobs' processes running at once")
    assert statuses(http, "sleepers").count("Running") == FILES
    extra_threads = manager.num_threads() - threads_idle
    assert extra_threads < FILES, f"{extra_threads} more threads for {FILES} running jobs"

    def all_done() -> list[str] | None:
        found = statuses(http, "sleepers")
        return found if found.count("Succeeded") == FILES else None

    wait_for(all_done, timeout=120, what=f"{FILES} succeeded jobs")
    assert keys_under(s3, "sleepers", "out/") == [f"out/{n}" for n in names]
