"""The supervisor runs a file job on its own (as it will inside a pod): real SeaweedFS, a real
subprocess, nothing of the manager."""

import json
import subprocess
import sys
from pathlib import Path

from sluice.domain.job import Job, ObjectRef
from sluice.domain.service import parse_service
from sluice.storage import open_provider
from sluice.supervisor.task import JobTask
from tests.servers import seaweedfs

SCRIPT = """echo "key=$STORAGE_OBJECT_KEY input=$(cat "$INPUT_FILE_PATH")"
tr a-z A-Z < "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/upper.txt"
echo "\\nliteral" > "$TMP_OUTPUT_DIR/echo.txt"
"""


def test_a_job_runs_from_its_task_file(tmp_path: Path) -> None:
    with seaweedfs(tmp_path / "store") as store:
        described = {
            "endpoint": store.endpoint,
            "access_key": store.credentials.access_key,
            "secret_key": store.credentials.secret_key,
            "verify": False,
        }
        provider = open_provider("minio", described)
        provider.ensure_folder("alone/in")
        source = tmp_path / "hello.txt"
        source.write_text("hello pod")
        provider.upload_file(source, "alone/in/hello.txt")
        etag = next(iter(provider.list_objects("alone/in"))).etag
        service = parse_service(
            {
                "name": "alone",
                "script": SCRIPT,
                "input": [{"storage_provider": "minio.default", "path": "alone/in"}],
                "output": [{"storage_provider": "minio.default", "path": "alone/out"}],
                "environment": {"secrets": {"API_KEY": "s3cr3t"}},
            }
        )
        source = ObjectRef("minio.default", "alone", "in/hello.txt", etag)
        job = Job.running("alone-1", "alone", source, b'{"Records": []}')
        task_file = tmp_path / "task.json"
        task_file.write_text(JobTask(job, service, "t" * 64, 30.0).dumps())
        store_file = tmp_path / "store.json"
        store_file.write_text(json.dumps(described))
        argv = [sys.executable, "-m", "sluice.supervisor", "job", "--task", str(task_file)]
        argv += ["--store", str(store_file), "--work-dir", str(tmp_path / "work")]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)

        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["succeeded"] is True and report["exit_code"] == 0
        assert "key=in/hello.txt input=hello pod" in report["log"]
        assert "Uploaded 2 output file(s)" in report["log"]
        result = tmp_path / "upper.txt"
        provider.download_file("alone/out/upper.txt", result)
        assert result.read_text() == "HELLO POD"
        provider.download_file("alone/out/echo.txt", result)
        assert result.read_text() == "\nliteral\n"  # /bin/sh's echo, as OSCAR runs scripts
        assert list((tmp_path / "work").iterdir()) == []  # nothing left behind


def test_a_failing_job_exits_non_zero_with_its_reason(tmp_path: Path) -> None:
    service = parse_service({"name": "fails", "script": "echo oops; exit 4"})
    job = Job.running("fails-1", "fails", None, b"aGk=")
    (tmp_path / "task.json").write_text(JobTask(job, service, "t" * 64, 30.0).dumps())
    described = {"endpoint": "http://127.0.0.1:9", "access_key": "a", "secret_key": "b"}
    (tmp_path / "store.json").write_text(json.dumps(described))
    argv = [sys.executable, "-m", "sluice.supervisor", "job", "--task", str(tmp_path / "task.json")]
    argv += ["--store", str(tmp_path / "store.json"), "--work-dir", str(tmp_path / "work")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report == {
        "succeeded": False,
        "exit_code": 4,
        "reason": "exit code 4",
        "log": report["log"],
    }
    assert "oops" in report["log"]
