"""Script services in containers of their image: the environment OSCAR gives a job, limits,
logs, cancellation and isolation, on real podman."""

import json
import time
from typing import Any

import docker
import httpx
import numpy as np
import pytest
from oscar_python.client import Client

from tests.containers.conftest import BUSYBOX, PYTHON, containers_of
from tests.e2e.helpers import keys_under, s3_client, wait_for
from tests.sluice_process import SluiceProcess


@pytest.fixture(scope="module")
def s3(http: httpx.Client) -> Any:
    return s3_client(http)


def create(http: httpx.Client, name: str, script: str, **fields: Any) -> None:
    body = {
        "name": name,
        "image": BUSYBOX,
        "memory": "64Mi",
        "cpu": "0.5",
        "script": script,
        "input": [{"storage_provider": "minio.default", "path": f"{name}/in"}],
        "output": [{"storage_provider": "minio.default", "path": f"{name}/out"}],
        **fields,
    }
    answer = http.post("/system/services", json=body)
    assert answer.status_code == 201, answer.text


def finished_job(http: httpx.Client, service: str, timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        jobs = http.get(f"/system/jobs/{service}").json()["jobs"]
        ended = [job for job in jobs if job["status"] in ("Succeeded", "Failed")]
        return ended[0] if ended else None

    return wait_for(done, timeout, f"a finished job of {service}")


def log_of(http: httpx.Client, service: str, job: str) -> str:
    return http.get(f"/system/logs/{service}/{job}").text


ENV_SCRIPT = """
env | sort > "$TMP_OUTPUT_DIR/env.txt"
cat "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/input-copy.txt"
printf '%s' "$EVENT" > "$TMP_OUTPUT_DIR/event.json"
id -u > "$TMP_OUTPUT_DIR/uid.txt"
echo "running in $(hostname) with PATH=$PATH"
"""


def test_a_job_gets_oscars_environment_inside_the_image(http: httpx.Client, s3: Any) -> None:
    create(
        http,
        "env-job",
        ENV_SCRIPT,
        environment={"variables": {"GREETING": "hello there"}, "secrets": {"TOKEN_X": "s3cr3t"}},
    )
    s3.put_object(Bucket="env-job", Key="in/sub dir/data.txt", Body=b"payload bytes")
    wait_for(lambda: len(keys_under(s3, "env-job", "out/")) == 4, what="4 outputs")
    env = dict(
        line.split("=", 1)
        for line in s3.get_object(Bucket="env-job", Key="out/env.txt")["Body"]
        .read()
        .decode()
        .splitlines()
        if "=" in line
    )
    assert env["GREETING"] == "hello there" and env["TOKEN_X"] == "s3cr3t"
    assert env["STORAGE_OBJECT_KEY"] == "in/sub dir/data.txt"
    assert env["INPUT_FILE_PATH"].endswith("/input/data.txt")
    assert env["TMP_OUTPUT_DIR"].endswith("/output")
    assert env["OSCAR_SERVICE_NAME"] == "env-job" and len(env["OSCAR_SERVICE_TOKEN"]) == 64
    assert env["PATH"] == "/bin"  # the image's own PATH, not the manager's
    copy = s3.get_object(Bucket="env-job", Key="out/input-copy.txt")["Body"].read()
    assert copy == b"payload bytes"
    event = json.loads(s3.get_object(Bucket="env-job", Key="out/event.json")["Body"].read())
    assert event["Records"][0]["s3"]["object"]["key"] == "in/sub%20dir/data.txt"
    job = finished_job(http, "env-job")
    assert job["status"] == "Succeeded"
    assert "running in" in log_of(http, "env-job", job["name"])


def test_a_failing_container_reports_its_exit_code_and_output(http: httpx.Client, s3: Any) -> None:
    create(http, "fails", 'echo "about to fail" ; echo "on stderr" >&2 ; exit 3')
    s3.put_object(Bucket="fails", Key="in/x.txt", Body=b"x")
    job = finished_job(http, "fails")
    assert (job["status"], job["exit_code"], job["reason"]) == ("Failed", 3, "exit code 3")
    assert job["dead_letter"] is True
    log = log_of(http, "fails", job["name"])
    assert "about to fail" in log and "on stderr" in log
    assert "Script failed: exit code 3" in log


def test_memory_over_the_limit_is_killed_and_reported_as_out_of_memory(
    http: httpx.Client, s3: Any
) -> None:
    create(
        http,
        "hungry",
        "python3 -c 'x = bytearray(400 * 1024 * 1024); print(len(x))'",
        image=PYTHON,
        memory="48Mi",
    )
    s3.put_object(Bucket="hungry", Key="in/x.txt", Body=b"x")
    job = finished_job(http, "hungry")
    assert job["status"] == "Failed" and job["exit_code"] == 137
    assert job["reason"] == "killed: exceeded the memory limit of 48Mi (out of memory)"


def test_a_job_past_its_timeout_is_stopped(http: httpx.Client, s3: Any) -> None:
    create(http, "slow", "echo started; sleep 60", timeout=2)
    started = time.monotonic()
    s3.put_object(Bucket="slow", Key="in/x.txt", Body=b"x")
    job = finished_job(http, "slow")
    assert time.monotonic() - started < 30
    assert job["status"] == "Failed"
    assert job["reason"] == "killed: timed out after 2 s"
    assert "started" in log_of(http, "slow", job["name"])


def test_deleting_a_service_cancels_its_running_container(
    http: httpx.Client, s3: Any, engine: docker.DockerClient, sluice_server: SluiceProcess
) -> None:
    create(http, "doomed", "echo going; sleep 120")
    s3.put_object(Bucket="doomed", Key="in/x.txt", Body=b"x")
    wait_for(
        lambda: containers_of(engine, "doomed", sluice_server.data_dir), what="the job's container"
    )
    assert http.delete("/system/services/doomed").status_code == 204
    wait_for(
        lambda: not containers_of(engine, "doomed", sluice_server.data_dir),
        timeout=20,
        what="the container gone",
    )
    assert keys_under(s3, "doomed", "out/") == []


ISOLATION_SCRIPT = """
for path in $PROBES; do
  if [ -e "$path" ]; then echo "visible $path"; else echo "hidden $path"; fi
done > "$TMP_OUTPUT_DIR/seen.txt"
ls "$DATA_DIR/jobs" > "$TMP_OUTPUT_DIR/jobs.txt"
"""


def test_a_job_cannot_see_the_data_dir_or_other_jobs(
    http: httpx.Client, s3: Any, sluice_server: SluiceProcess
) -> None:
    data_dir = sluice_server.data_dir
    create(http, "sleeper", "sleep 20")
    s3.put_object(Bucket="sleeper", Key="in/x.txt", Body=b"x")
    jobs_dir = data_dir / "jobs"
    [other] = wait_for(
        lambda: [p for p in jobs_dir.glob("sleeper-*") if p.is_dir()], what="the other job's folder"
    )
    probes = [data_dir / "sluice.db", data_dir / "seaweedfs", data_dir / "sluice-up.log", other]
    assert all(path.exists() for path in probes)  # there on the host
    create(
        http,
        "snoop",
        ISOLATION_SCRIPT,
        environment={
            "variables": {"DATA_DIR": str(data_dir), "PROBES": " ".join(map(str, probes))}
        },
    )
    s3.put_object(Bucket="snoop", Key="in/x.txt", Body=b"x")
    wait_for(lambda: len(keys_under(s3, "snoop", "out/")) == 2, what="the snoop's report")
    seen = s3.get_object(Bucket="snoop", Key="out/seen.txt")["Body"].read().decode()
    assert seen.splitlines() == [f"hidden {path}" for path in probes]
    listed = s3.get_object(Bucket="snoop", Key="out/jobs.txt")["Body"].read().decode().split()
    [own] = listed  # of all the jobs' folders, only its own
    assert own.startswith("snoop-")


COWSAY_STYLE = """#!/bin/sh
if [ "$INPUT_TYPE" = "json" ]
then
    jq '.message' "$INPUT_FILE_PATH" -r | /usr/games/cowsay
else
    cat "$INPUT_FILE_PATH" | /usr/games/cowsay
fi
"""


def test_a_sync_call_in_the_cowsay_image_through_oscar_python(
    http: httpx.Client, sluice_server: SluiceProcess
) -> None:
    body = {
        "name": "cowsay",
        "cpu": "1.0",
        "memory": "1Gi",
        "image": "ghcr.io/grycap/cowsay",
        "script": COWSAY_STYLE,
        "log_level": "CRITICAL",
        "environment": {"Variables": {"INPUT_TYPE": "json"}},
    }
    assert http.post("/system/services", json=body).status_code == 201
    client = Client(
        {
            "cluster_id": "sluice",
            "endpoint": sluice_server.url,
            "user": sluice_server.user,
            "password": sluice_server.password,
            "ssl": False,
        }
    )
    answer = client.run_service("cowsay", input=json.dumps({"message": "Moo from Sluice"}))
    assert answer.status_code == 200
    lines = answer.text.splitlines()
    assert lines[1] == "< Moo from Sluice >"
    assert "(oo)" in answer.text


GRAYIFY_STYLE = """#!/bin/bash
FILE_NAME=`basename "$INPUT_FILE_PATH"`
echo "converting $FILE_NAME"
convert "$INPUT_FILE_PATH" -type Grayscale "$TMP_OUTPUT_DIR/$FILE_NAME"
"""


def test_an_image_turned_grayscale_in_the_imagemagick_image(http: httpx.Client, s3: Any) -> None:
    import cv2

    body = {
        "name": "grayify",
        "memory": "1Gi",
        "cpu": "1.0",
        "image": "ghcr.io/grycap/imagemagick",
        "script": GRAYIFY_STYLE,
        "input": [{"storage_provider": "minio", "path": "grayify/in"}],
        "output": [{"storage_provider": "minio", "path": "grayify/out"}],
    }
    assert http.post("/system/services", json=body).status_code == 201
    colours = np.zeros((24, 36, 3), np.uint8)
    colours[:, :12] = (0, 0, 255)  # red, in OpenCV's BGR
    colours[:, 12:24] = (0, 255, 0)
    colours[:, 24:] = (255, 0, 0)
    ok, png = cv2.imencode(".png", colours)
    assert ok
    s3.put_object(Bucket="grayify", Key="in/stripes.png", Body=png.tobytes())
    wait_for(lambda: keys_under(s3, "grayify", "out/"), what="the grayscale image")
    data = s3.get_object(Bucket="grayify", Key="out/stripes.png")["Body"].read()
    gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert gray.shape == (24, 36)  # one channel
    # ImageMagick's Rec. 709 luma of pure red, green and blue, each within rounding.
    assert abs(int(gray[0, 0]) - 54) <= 2
    assert abs(int(gray[0, 18]) - 182) <= 2
    assert abs(int(gray[0, 30]) - 18) <= 2
