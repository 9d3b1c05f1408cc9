"""Handler services with warm workers inside containers of their image: the model is loaded
once per worker, calls and file jobs are served by the same workers, limits hold."""

import base64
import textwrap
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from tests.containers.conftest import PYTHON, containers_of
from tests.e2e.helpers import keys_under, s3_client, wait_for
from tests.sluice_process import SluiceProcess

# Runs under the image's own Python 3.11, where Sluice is not installed.
MODEL = """
import os


def load():
    with open("init.log", "a") as log:  # the worker's folder, shared with the host
        log.write(f"{os.getpid()}\\n")
    return {"calls": 0}


def handle(input_path, output_dir, state):
    state["calls"] += 1
    text = open(input_path).read().strip()
    if text == "hog":
        hog = bytearray(400 * 1024 * 1024)
        return str(len(hog))
    if text.startswith("peek "):
        return "visible" if os.path.exists(text[5:]) else "hidden"
    with open(os.path.join(output_dir, os.path.basename(input_path) + ".up"), "w") as out:
        out.write(f"{text.upper()} call={state['calls']}")
    return None
"""


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    (folder / "model.py").write_text(textwrap.dedent(MODEL))
    return folder


@pytest.fixture(scope="module")
def s3(http: httpx.Client) -> Any:
    return s3_client(http)


def create(http: httpx.Client, code_dir: Path, name: str, **fields: Any) -> httpx.Response:
    body = {
        "name": name,
        "image": PYTHON,
        "handler": "model:handle",
        "init": "model:load",
        "pythonpath": [str(code_dir)],
        "memory": "96Mi",
        "cpu": "0.5",
        "input": [{"storage_provider": "minio.default", "path": f"{name}/in"}],
        "output": [{"storage_provider": "minio.default", "path": f"{name}/out"}],
        "synchronous": {"min_scale": 1, "max_scale": 1},
        **fields,
    }
    return http.post("/system/services", json=body)


def run(http: httpx.Client, service: str, text: str) -> httpx.Response:
    return http.post(f"/run/{service}", content=base64.b64encode(text.encode()), timeout=60)


def test_one_warm_worker_serves_calls_and_file_jobs_with_init_once(
    http: httpx.Client,
    s3: Any,
    code_dir: Path,
    sluice_server: SluiceProcess,
    engine: docker.DockerClient,
) -> None:
    assert create(http, code_dir, "upper").status_code == 201
    wait_for(
        lambda: containers_of(engine, "upper", sluice_server.data_dir),
        what="the warm worker's container",
    )
    for index in range(5):
        answer = run(http, "upper", f"call {index}")
        assert answer.status_code == 200, answer.text
        decoded = base64.b64decode(answer.text).decode()
        assert decoded == f"CALL {index} call={index + 1}"  # one worker, its state kept
    for name in ("a", "b", "c"):
        s3.put_object(Bucket="upper", Key=f"in/{name}.txt", Body=name.encode())
    expected = {"out/a.txt.up", "out/b.txt.up", "out/c.txt.up"}
    wait_for(lambda: expected <= set(keys_under(s3, "upper", "out/")), what="3 outputs")
    outputs = [
        s3.get_object(Bucket="upper", Key=f"out/{n}.txt.up")["Body"].read().decode()
        for n in ("a", "b", "c")
    ]
    assert sorted(int(text.rsplit("=", 1)[1]) for text in outputs) == [6, 7, 8]
    init_log = sluice_server.data_dir / "workers" / "upper" / "init.log"
    assert len(init_log.read_text().splitlines()) == 1  # init ran once, in one worker
    assert len(containers_of(engine, "upper", sluice_server.data_dir)) == 1


def test_a_worker_in_a_container_cannot_see_the_data_dir(
    http: httpx.Client, code_dir: Path, sluice_server: SluiceProcess
) -> None:
    assert create(http, code_dir, "peeker").status_code == 201
    database = sluice_server.data_dir / "sluice.db"
    assert database.exists()
    answer = run(http, "peeker", f"peek {database}")
    assert answer.status_code == 200, answer.text
    assert answer.text == "hidden"
    assert run(http, "peeker", f"peek {code_dir / 'model.py'}").text == "visible"


def test_a_worker_over_its_memory_limit_fails_that_call_and_is_replaced(
    http: httpx.Client, code_dir: Path
) -> None:
    assert create(http, code_dir, "hog").status_code == 201
    answer = run(http, "hog", "hog")
    assert answer.status_code == 500
    assert "exceeding its memory limit of 96Mi" in answer.text
    again = run(http, "hog", "fine")
    assert again.status_code == 200 and base64.b64decode(again.text) == b"FINE call=1"


def test_a_handler_that_cannot_be_imported_in_the_image_is_refused(
    http: httpx.Client, code_dir: Path
) -> None:
    answer = create(http, code_dir, "broken", handler="model:missing")
    assert answer.status_code == 400
    assert "has no attribute 'missing'" in answer.text
    nothing = create(http, code_dir, "nopython", python="/usr/bin/python9")
    assert nothing.status_code == 400
    assert "python9" in nothing.text
    assert http.get("/system/services/broken").status_code == 404
