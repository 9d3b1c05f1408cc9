"""Issue 3: uploads start jobs on a real ``sluice up`` with its embedded SeaweedFS."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from oscar_python.client import Client
from tests.e2e.helpers import all_jobs, keys_under, s3_client, statuses, wait_for
from tests.sluice_process import SluiceProcess

COPY_SCRIPT = """#!/bin/sh
set -e
name=$(basename "$INPUT_FILE_PATH")
echo "processing $STORAGE_OBJECT_KEY as $name"
cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/$name"
mkdir -p "$TMP_OUTPUT_DIR/meta"
wc -c < "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/meta/$name.size"
"""


@pytest.fixture(scope="module")
def sluice_env() -> dict[str, str]:
    return {
        "SLUICE_RETRY_BACKOFF": "0.2",
        "SLUICE_RECONCILE_INTERVAL": "2",
        "SLUICE_TOTAL_CPU": "2",
    }


@pytest.fixture(scope="module")
def s3(http: httpx.Client) -> Any:
    return s3_client(http)


def create(http: httpx.Client, body: dict[str, Any]) -> None:
    response = http.post("/system/services", json=body)
    assert response.status_code == 201, response.text


def test_many_uploads_each_produce_outputs(http: httpx.Client, s3: Any) -> None:
    create(
        http,
        {
            "name": "copier",
            "memory": "64Mi",
            "cpu": "0.25",
            "script": COPY_SCRIPT,
            "input": [{"storage_provider": "minio", "path": "copier/in"}],
            "output": [{"storage_provider": "minio", "path": "copier/out"}],
        },
    )
    names = [f"file-{i:02d}.txt" for i in range(24)]
    for name in names:
        s3.put_object(Bucket="copier", Key=f"in/{name}", Body=f"content of {name}".encode())

    expected = sorted([f"out/{n}" for n in names] + [f"out/meta/{n}.size" for n in names])
    wait_for(lambda: keys_under(s3, "copier", "out/") == expected, what="24 outputs")
    body = s3.get_object(Bucket="copier", Key="out/file-07.txt")["Body"].read()
    assert body == b"content of file-07.txt"
    size = s3.get_object(Bucket="copier", Key="out/meta/file-07.txt.size")["Body"].read()
    assert size.strip() == b"22"

    wait_for(lambda: statuses(http, "copier") == ["Succeeded"] * 24, what="24 succeeded jobs")
    jobs = all_jobs(http, "copier")
    job, info = next(iter(jobs.items()))
    assert {"creation_time", "start_time", "finish_time"} <= set(info)
    log = http.get(f"/system/logs/copier/{job}").text
    assert "processing in/file-" in log
    assert "Uploaded 2 output file(s)" in log


def test_oscar_python_storage_roundtrip(sluice_server: SluiceProcess, tmp_path: Path) -> None:
    client = Client(
        {
            "cluster_id": "local",
            "endpoint": sluice_server.url,
            "user": sluice_server.user,
            "password": sluice_server.password,
            "ssl": False,
        }
    )
    local = tmp_path / "photo.txt"
    local.write_text("from oscar-python")
    storage = client.create_storage_client("copier")
    storage.upload_file("minio.default", str(local), "copier/in")
    http = sluice_server.client()
    s3 = s3_client(http)
    wait_for(lambda: "out/photo.txt" in keys_under(s3, "copier", "out/"), what="output")
    target = tmp_path / "downloaded"
    target.mkdir()
    storage.download_file("minio.default", str(target), "copier/out/photo.txt")
    assert (target / "photo.txt").read_text() == "from oscar-python"
    listed = storage.list_files_from_path("minio.default", "copier/out")
    assert any(item["Key"] == "out/photo.txt" for item in listed["Contents"])


def test_two_chained_services(http: httpx.Client, s3: Any) -> None:
    create(
        http,
        {
            "name": "upper",
            "script": 'tr a-z A-Z < "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/${INPUT_FILE_PATH##*/}"',
            "input": [{"path": "chain/in"}],
            "output": [{"path": "chain/middle"}],
        },
    )
    create(
        http,
        {
            "name": "exclaim",
            "script": 'sed "s/$/!/" "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/${INPUT_FILE_PATH##*/}"',
            "input": [{"path": "chain/middle"}],
            "output": [{"path": "chain/final", "suffix": [".txt"]}],
        },
    )
    for i in range(3):
        s3.put_object(Bucket="chain", Key=f"in/w{i}.txt", Body=f"hello {i}\n".encode())
    wait_for(lambda: len(keys_under(s3, "chain", "final/")) == 3, what="final outputs")
    assert s3.get_object(Bucket="chain", Key="final/w1.txt")["Body"].read() == b"HELLO 1!\n"
    assert statuses(http, "upper") == ["Succeeded"] * 3
    wait_for(lambda: statuses(http, "exclaim") == ["Succeeded"] * 3, what="second step")


def test_failing_script_is_retried_then_dead_letter(http: httpx.Client, s3: Any) -> None:
    create(
        http,
        {
            "name": "flaky",
            "script": 'echo "attempt on $(basename $INPUT_FILE_PATH)"; echo oops >&2; exit 3',
            "max_attempts": 3,
            "input": [{"path": "flaky/in"}],
            "output": [{"path": "flaky/out"}],
        },
    )
    s3.put_object(Bucket="flaky", Key="in/bad.txt", Body=b"x")

    def dead() -> list[dict[str, Any]] | None:
        jobs = http.get("/system/jobs/flaky", params={"dead": "true"}).json()["jobs"]
        return jobs or None

    [letter] = wait_for(dead, what="a dead letter")
    assert letter["status"] == "Failed"
    assert letter["attempts"] == 3
    assert letter["exit_code"] == 3
    assert letter["reason"] == "exit code 3"
    log = http.get(f"/system/logs/flaky/{letter['name']}").text
    assert "attempt on bad.txt" in log and "oops" in log

    retried = http.post(f"/system/jobs/flaky/{letter['name']}/retry")
    assert retried.status_code == 200
    assert retried.json()["attempts"] == 0
    wait_for(
        lambda: http.get("/system/jobs/flaky", params={"dead": "true"}).json()["jobs"],
        what="the dead letter again",
    )
    again = http.post("/system/jobs/flaky/not-a-job/retry")
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("name", "extra", "script", "reason"),
    [
        (
            "hog",
            {"memory": "48Mi"},
            "python3 -c 'x = bytearray(300 * 1024 * 1024); import time; time.sleep(5)'",
            "memory limit",
        ),
        ("sleeper", {"timeout": 1}, "sleep 30", "timed out"),
    ],
)
def test_limits_kill_and_report(
    http: httpx.Client, s3: Any, name: str, extra: dict[str, Any], script: str, reason: str
) -> None:
    create(
        http,
        {
            "name": name,
            "script": script,
            "max_attempts": 1,
            "input": [{"path": f"{name}/in"}],
            **extra,
        },
    )
    s3.put_object(Bucket=name, Key="in/go", Body=b"go")
    jobs = wait_for(
        lambda: http.get(f"/system/jobs/{name}", params={"dead": "true"}).json()["jobs"],
        what=f"{name} to be killed",
    )
    assert reason in jobs[0]["reason"]
    assert reason in http.get(f"/system/logs/{name}/{jobs[0]['name']}").text


def test_unwatched_upload_is_ignored(http: httpx.Client, s3: Any) -> None:
    s3.put_object(Bucket="copier", Key="elsewhere/file.txt", Body=b"x")
    s3.put_object(Bucket="copier", Key="in-not-really/file.txt", Body=b"x")
    before = len(all_jobs(http, "copier"))
    s3.put_object(Bucket="copier", Key="in/trigger.txt", Body=b"x")
    wait_for(lambda: len(all_jobs(http, "copier")) == before + 1, what="one new job")


def test_malformed_event_body_is_400_and_queues_nothing(http: httpx.Client) -> None:
    token = http.get("/system/services/copier").json()["token"]
    before = len(all_jobs(http, "copier"))
    for body in (
        {"Records": []},
        {"Records": [{"eventSource": "minio:s3", "eventName": "s3:ObjectCreated:Put", "s3": {}}]},
        {"Records": [{"eventSource": "somewhere"}]},
    ):
        response = httpx.post(
            str(http.base_url.join("/job/copier")),
            content=json.dumps(body),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 400, response.text
        assert "Records" in response.text or "s3." in response.text
    empty = httpx.post(
        str(http.base_url.join("/job/copier")), headers={"Authorization": f"Bearer {token}"}
    )
    assert empty.status_code == 400
    assert len(all_jobs(http, "copier")) == before


def test_minio_event_and_raw_body_on_job_endpoint(http: httpx.Client, s3: Any) -> None:
    token = http.get("/system/services/copier").json()["token"]
    s3.put_object(Bucket="copier", Key="manual/by-event.txt", Body=b"evented")
    etag = s3.head_object(Bucket="copier", Key="manual/by-event.txt")["ETag"]
    event = {
        "EventName": "s3:ObjectCreated:Put",
        "Key": "copier/manual/by-event.txt",
        "Records": [
            {
                "eventSource": "minio:s3",
                "eventName": "s3:ObjectCreated:Put",
                "eventTime": "2026-11-22T10:00:00.000Z",
                "s3": {
                    "bucket": {"name": "copier"},
                    "object": {"key": "manual%2Fby-event.txt", "eTag": etag, "size": 7},
                },
            }
        ],
    }
    headers = {"Authorization": f"Bearer {token}"}
    first = httpx.post(str(http.base_url.join("/job/copier")), json=event, headers=headers)
    assert first.status_code == 201
    again = httpx.post(str(http.base_url.join("/job/copier")), json=event, headers=headers)
    assert again.status_code == 201 and again.headers["X-Sluice-Job"] == ""
    wait_for(lambda: "out/by-event.txt" in keys_under(s3, "copier", "out/"), what="evented output")

    raw = httpx.post(
        str(http.base_url.join("/job/copier")), content=b"aGVsbG8gYmFzZTY0", headers=headers
    )
    assert raw.status_code == 201
    job = raw.headers["X-Sluice-Job"]
    wait_for(
        lambda: f"out/event-file-{job}" in keys_under(s3, "copier", "out/"), what="raw-body output"
    )
    assert (
        s3.get_object(Bucket="copier", Key=f"out/event-file-{job}")["Body"].read()
        == b"hello base64"
    )
    denied = httpx.post(
        str(http.base_url.join("/job/copier")),
        content=b"x",
        headers={"Authorization": "Bearer nope"},
    )
    assert denied.status_code == 401


@pytest.mark.parametrize(
    "key",
    ["in/with space.txt", "in/ünïcødé-文件.txt", "in/dots..txt", "in/deep/nested/name.txt"],
)
def test_awkward_keys_stay_inside_the_job(http: httpx.Client, s3: Any, key: str) -> None:
    s3.put_object(Bucket="copier", Key=key, Body=b"awkward")
    name = key.rsplit("/", 1)[-1]
    wait_for(lambda: f"out/{name}" in keys_under(s3, "copier", "out/"), what=f"output of {key!r}")
    assert s3.get_object(Bucket="copier", Key=f"out/{name}")["Body"].read() == b"awkward"


def test_traversal_key_in_event_never_escapes(
    sluice_server: SluiceProcess, http: httpx.Client
) -> None:
    """SeaweedFS refuses keys with '..', but a forged event can still name one."""
    token = http.get("/system/services/copier").json()["token"]
    target = sluice_server.data_dir / "escaped.txt"
    record = {
        "eventSource": "minio:s3",
        "eventName": "s3:ObjectCreated:Put",
        "s3": {"bucket": {"name": "copier"}, "object": {"key": "in/../../../escaped.txt"}},
    }
    response = httpx.post(
        str(http.base_url.join("/job/copier")),
        json={"Records": [record]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    job = response.headers["X-Sluice-Job"]
    wait_for(
        lambda: (
            all_jobs(http, "copier")[job]["status"] in ("Failed", "Pending")
            and http.get(f"/system/logs/copier/{job}").text
        ),
        what="the forged job to fail",
    )
    assert "must not contain '.' or '..' segments" in http.get(f"/system/logs/copier/{job}").text
    assert not target.exists()
    assert not list(sluice_server.data_dir.rglob("escaped.txt"))


def test_pending_jobs_say_they_wait_for_capacity(http: httpx.Client, s3: Any) -> None:
    create(
        http,
        {
            "name": "whole-machine",
            "cpu": "2",
            "memory": "32Mi",
            "script": "sleep 2",
            "input": [{"path": "whole/in"}],
        },
    )
    s3.put_object(Bucket="whole", Key="in/first", Body=b"1")
    s3.put_object(Bucket="whole", Key="in/second", Body=b"2")

    def waiting() -> list[dict[str, Any]] | None:
        jobs = http.get("/system/jobs/whole-machine").json()["jobs"]
        pending = [job for job in jobs if job["status"] == "Pending"]
        return pending if pending and any(job["status"] == "Running" for job in jobs) else None

    [job] = wait_for(waiting, what="one job running and one waiting")
    assert job["reason"].startswith("waiting for capacity: each job needs 2 CPU and 32Mi")
    wait_for(
        lambda: statuses(http, "whole-machine") == ["Succeeded"] * 2, what="both jobs to finish"
    )
