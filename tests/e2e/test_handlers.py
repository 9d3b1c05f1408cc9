"""Issue 4: Python handler services, warm workers that load their model once."""

import base64
import textwrap
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.helpers import keys_under, s3_client, statuses, wait_for
from tests.sluice_process import SluiceProcess, readable_by_jobs

MODEL = """
import os
import time
import uuid

from sluice.workers.handler_api import batch


def load(context):
    worker = uuid.uuid4().hex  # not the pid: each sandboxed worker has its own pid namespace
    with open(os.environ["INIT_LOG"], "a") as log:
        log.write(f"{worker}\\n")
    return {"suffix": "!", "worker": worker}


def handle(input_path, output_dir, state):
    text = open(input_path).read().strip()
    if text == "boom":
        raise ValueError("boom requested")
    if text == "crash":
        os._exit(3)
    if text == "sleep":
        time.sleep(30)
    if text == "nap":
        time.sleep(1)
    if text == "say":
        return "said " + state["suffix"]
    print("handling", text)
    name = os.path.basename(input_path) + ".out"
    with open(os.path.join(output_dir, name), "w") as out:
        out.write(text.upper() + state["suffix"] + f" worker={state['worker']}")


@batch
def handle_many(inputs, output_dirs, state):
    with open(os.environ["BATCH_LOG"], "a") as log:
        log.write(f"{len(inputs)}\\n")
    for source, folder in zip(inputs, output_dirs):
        name = os.path.basename(source)
        with open(os.path.join(folder, name), "w") as out:
            out.write(open(source).read() + state["suffix"])
"""


@pytest.fixture(scope="module")
def sluice_env() -> dict[str, str]:
    # Idle workers stay warm for the whole module unless their capacity is wanted elsewhere.
    return {"SLUICE_WORKER_IDLE_TIMEOUT": "600", "SLUICE_TOTAL_CPU": "2"}


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = readable_by_jobs(tmp_path_factory.mktemp("code"))
    (folder / "model.py").write_text(textwrap.dedent(MODEL))
    return folder


def worker_file(server: SluiceProcess, service: str, name: str) -> Path:
    """A file a service's workers wrote in their own folder (the one place they may write)."""
    return server.data_dir / "workers" / service / name


def create(http: httpx.Client, code: Path, name: str, **extra: Any) -> str:
    body = {
        "name": name,
        "handler": "model:handle",
        "init": "model:load",
        "pythonpath": [str(code)],
        "memory": "256Mi",
        "cpu": "0.25",
        "timeout": 3,
        "environment": {"variables": {"INIT_LOG": "init.log", "BATCH_LOG": "batches.log"}},
        **extra,
    }
    response = http.post("/system/services", json=body)
    assert response.status_code == 201, response.text
    return name


def run(http: httpx.Client, service: str, text: str) -> httpx.Response:
    token = http.get(f"/system/services/{service}").json()["token"]
    return httpx.post(
        str(http.base_url.join(f"/run/{service}")),
        content=base64.b64encode(text.encode()),
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def test_init_runs_once_per_worker(
    http: httpx.Client, code: Path, sluice_server: SluiceProcess
) -> None:
    create(
        http,
        code,
        "warm",
        synchronous={"min_scale": 1, "max_scale": 2},
        input=[{"path": "warm/in"}],
        output=[{"path": "warm/out"}],
    )
    answers = [run(http, "warm", f"call {i}") for i in range(30)]
    assert all(a.status_code == 200 for a in answers)
    assert base64.b64decode(answers[0].text).startswith(b"CALL 0!")
    s3 = s3_client(http)
    for i in range(20):
        s3.put_object(Bucket="warm", Key=f"in/file{i}.txt", Body=f"file {i}".encode())
    wait_for(lambda: statuses(http, "warm") == ["Succeeded"] * 20, what="20 handler jobs")
    expected = {f"out/file{i}.txt.out" for i in range(20)}
    wait_for(lambda: expected <= set(keys_under(s3, "warm", "out/")), what="20 outputs")
    body = s3.get_object(Bucket="warm", Key="out/file7.txt.out")["Body"].read()
    assert body.startswith(b"FILE 7!")
    inits = Counter(worker_file(sluice_server, "warm", "init.log").read_text().split())
    assert 1 <= len(inits) <= 2
    assert set(inits.values()) == {1}, "init ran more than once in a worker"


def test_failures_fail_only_their_call(http: httpx.Client, code: Path) -> None:
    create(http, code, "fragile", synchronous={"min_scale": 0, "max_scale": 1})
    boom = run(http, "fragile", "boom")
    assert boom.status_code == 500 and "boom requested" in boom.text
    assert run(http, "fragile", "after boom").status_code == 200
    crash = run(http, "fragile", "crash")
    assert crash.status_code == 500 and "crash" in crash.text.lower()
    assert base64.b64decode(run(http, "fragile", "after crash").text).startswith(b"AFTER CRASH!")
    slow = run(http, "fragile", "sleep")
    assert slow.status_code == 504
    assert run(http, "fragile", "say").text == "said !"


def test_import_errors_are_400_at_create(http: httpx.Client, code: Path) -> None:
    for handler, message in [("nowhere.mod:fn", "nowhere"), ("model:missing", "missing")]:
        body = {"name": "broken", "handler": handler, "pythonpath": [str(code)]}
        response = http.post("/system/services", json=body)
        assert response.status_code == 400, response.text
        assert message in response.text
    assert http.get("/system/services/broken").status_code == 404


def test_concurrent_calls_never_exceed_max_scale(
    http: httpx.Client, code: Path, sluice_server: SluiceProcess
) -> None:
    create(http, code, "capped-h", synchronous={"min_scale": 0, "max_scale": 4})
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda i: run(http, "capped-h", f"c{i}"), range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    workers = {base64.b64decode(a.text).decode().rsplit("worker=", 1)[1] for a in answers}
    assert 1 <= len(workers) <= 4
    assert len(worker_file(sluice_server, "capped-h", "init.log").read_text().split()) <= 4


def test_file_jobs_are_batched(
    http: httpx.Client, code: Path, sluice_server: SluiceProcess
) -> None:
    create(
        http,
        code,
        "batcher",
        handler="model:handle_many",
        batch_size=5,
        batch_wait_ms=500,
        input=[{"path": "batcher/in"}],
        output=[{"path": "batcher/out"}],
    )
    s3 = s3_client(http)
    for i in range(15):
        s3.put_object(Bucket="batcher", Key=f"in/b{i:02d}.txt", Body=f"item {i}".encode())
    wait_for(lambda: len(keys_under(s3, "batcher", "out/")) == 15, what="15 batched outputs")
    assert s3.get_object(Bucket="batcher", Key="out/b03.txt")["Body"].read() == b"item 3!"
    sizes = [
        int(n) for n in worker_file(sluice_server, "batcher", "batches.log").read_text().split()
    ]
    assert sum(sizes) == 15
    assert max(sizes) > 1
    assert max(sizes) <= 5


def test_idle_warm_workers_give_way_to_other_services_jobs(
    http: httpx.Client, code: Path, sluice_server: SluiceProcess
) -> None:
    """Warm workers of one service filling the machine do not keep another service's file
    job waiting for their idle timeout (600 s here): the longest idle one is closed."""
    create(http, code, "hog", cpu="0.5", timeout=30, synchronous={"min_scale": 0, "max_scale": 4})
    with ThreadPoolExecutor(12) as pool:
        naps = list(pool.map(lambda _: run(http, "hog", "nap"), range(12)))
    assert [a.status_code for a in naps] == [200] * 12
    body = {
        "name": "after-hog",
        "cpu": "0.5",
        "memory": "64Mi",
        "script": 'cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/"',
        "input": [{"path": "after-hog/in"}],
        "output": [{"path": "after-hog/out"}],
    }
    assert http.post("/system/services", json=body).status_code == 201
    s3 = s3_client(http)
    s3.put_object(Bucket="after-hog", Key="in/x.txt", Body=b"made room")
    wait_for(lambda: statuses(http, "after-hog") == ["Succeeded"], what="the job to run")
    assert s3.get_object(Bucket="after-hog", Key="out/x.txt")["Body"].read() == b"made room"
    assert "stopping an idle worker of hog: its capacity is wanted" in sluice_server.log_text()
