"""Jobs a crashed manager leaves behind never run on unaccounted: sandboxed ones end with the
manager, unsandboxed ones are found and killed when it starts again, before their jobs re-run."""

import random
from pathlib import Path

import psutil
import pytest
from tests.e2e.helpers import wait_for
from tests.sluice_process import SluiceProcess

SECONDS = f"{random.randint(1000, 9999)}.5"  # a sleep no other test on this machine runs
SCRIPT = f"exec sleep {SECONDS}"


def sleepers() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", SECONDS]]


def ended(process: psutil.Process) -> bool:
    """Gone, or a zombie: killed, and waiting for a PID 1 that may never reap it here."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("sandbox", ["on", "off"])
def test_a_crash_leaves_no_job_running(tmp_path: Path, sandbox: str) -> None:
    server = SluiceProcess(data_dir=tmp_path / "data", env={"SLUICE_SANDBOX": sandbox}).start()
    try:
        with server.client() as http:
            body = {"name": "forever", "script": SCRIPT, "timeout": 600}
            assert http.post("/system/services", json=body).status_code == 201
            assert http.post("/job/forever", content=b"eA==").status_code == 201
        [first] = wait_for(sleepers, what="the job's process")
        server.kill()  # SIGKILL: no clean shutdown
        if sandbox == "on":
            wait_for(lambda: ended(first), timeout=10, what="the sandboxed job to end")
        else:
            assert not ended(first), "an unsandboxed job outlives a crashed manager"
        server.start()
        assert ended(first)  # ended before the manager was ready
        [again] = wait_for(lambda: [p for p in sleepers() if not ended(p)], what="it again")
        assert again.pid != first.pid
    finally:
        server.stop()
    assert all(ended(p) for p in sleepers())
