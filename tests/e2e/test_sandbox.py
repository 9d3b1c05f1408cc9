"""The process runtime's sandbox, on a real ``sluice up`` (as root here, so jobs run as the
unprivileged job user): a job cannot read the data dir, another job's input, the manager's
environment or process; every process a job starts ends with it."""

import json
import os
import random
from typing import Any

import httpx
import psutil
import pytest
from tests.e2e.helpers import held_input, keys_under, s3_client, wait_for
from tests.sluice_process import SluiceProcess

PROBE = """
report="$TMP_OUTPUT_DIR/report.txt"
id -un > "$report"
for path in "$DATA_DIR/sluice.db" "$DATA_DIR/secret.key" "$DATA_DIR/seaweedfs" "$OTHER"; do
  if [ -e "$path" ]; then seen=visible; else seen=hidden; fi
  echo "$seen $path" >> "$report"
done
ls "$DATA_DIR/jobs" > "$TMP_OUTPUT_DIR/jobs.txt"
cat /proc/$MANAGER/environ > /dev/null 2>&1 && echo "manager environ readable" >> "$report"
kill -0 $MANAGER 2>/dev/null && echo "manager signalable" >> "$report"
echo written > /usr/local/sluice-probe 2>/dev/null && echo "wrote outside" >> "$report"
echo private > /tmp/mine && cat /tmp/mine >> "$report"
setsid sleep $ESCAPEE &
echo done >> "$report"
"""


ESCAPEE = f"{random.randint(1000, 9999)}.5"  # a sleep no other test on this machine runs


@pytest.fixture(scope="module")
def s3(http: httpx.Client) -> Any:
    return s3_client(http)


def test_a_sandboxed_job_sees_only_its_own_folder(
    http: httpx.Client, s3: Any, sluice_server: SluiceProcess
) -> None:
    assert os.geteuid() == 0, "these tests run as root, so that jobs run as the job user"
    data = sluice_server.data_dir
    other = held_input(http, s3, data / "jobs")
    assert sluice_server.process is not None
    probe = {
        "name": "probe",
        "script": PROBE,
        "environment": {
            "variables": {
                "DATA_DIR": str(data),
                "OTHER": str(other),
                "MANAGER": str(sluice_server.process.pid),
                "ESCAPEE": ESCAPEE,
            }
        },
        "input": [{"storage_provider": "minio.default", "path": "probe/in"}],
        "output": [{"storage_provider": "minio.default", "path": "probe/out"}],
    }
    assert http.post("/system/services", json=probe).status_code == 201
    s3.put_object(Bucket="probe", Key="in/go.txt", Body=b"go")
    wait_for(lambda: len(keys_under(s3, "probe", "out/")) == 2, what="the probe's report")
    report = s3.get_object(Bucket="probe", Key="out/report.txt")["Body"].read().decode()
    assert report.splitlines() == [
        "sluice-job",
        f"hidden {data}/sluice.db",
        f"hidden {data}/secret.key",
        f"hidden {data}/seaweedfs",
        f"hidden {other}",
        "private",
        "done",
    ]
    assert (data / "sluice.db").exists() and (data / "secret.key").exists() and other.exists()
    [own] = s3.get_object(Bucket="probe", Key="out/jobs.txt")["Body"].read().decode().split()
    assert own.startswith("probe-")
    escaped = [
        p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", ESCAPEE]
    ]
    assert escaped == []  # the setsid escapee ended with its job


def test_a_handler_with_a_python_that_is_not_one_is_refused(http: httpx.Client) -> None:
    body = {"name": "not-python", "handler": "m:f", "python": "/bin/sh"}
    answer = http.post("/system/services", json=body)
    assert answer.status_code == 400
    assert "is not a Python interpreter" in answer.text
    missing = http.post("/system/services", json={**body, "python": "/nope/python3"})
    assert missing.status_code == 400 and "not found" in missing.text


def test_the_admin_password_is_not_on_the_command_line(sluice_server: SluiceProcess) -> None:
    assert sluice_server.process is not None
    manager = psutil.Process(sluice_server.process.pid)
    assert sluice_server.password and sluice_server.password not in " ".join(manager.cmdline())
    status = json.loads(httpx.get(f"{sluice_server.url}/health", params={"detail": "1"}).text)
    assert status["status"] == "ok"
