"""Issue 4: synchronous ``POST /run`` on script services, through oscar-python and raw HTTP."""

import base64
import io
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from oscar_python.client import Client
from tests.sluice_process import SluiceProcess

UPPER = 'tr a-z A-Z < "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/result.txt"'
TWO_FILES = 'cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/a.txt"; echo second > "$TMP_OUTPUT_DIR/b.txt"'
SAY = 'echo "you said: $(cat "$INPUT_FILE_PATH")"'


@pytest.fixture(scope="module")
def http(sluice_server: SluiceProcess) -> Iterator[httpx.Client]:
    with sluice_server.client() as client:
        for name, script, extra in [
            ("upper", UPPER, {}),
            ("two-files", TWO_FILES, {}),
            ("say", SAY, {"log_level": "CRITICAL"}),
            ("say-verbose", SAY, {}),
            ("slow", "sleep 20", {"timeout": 1}),
        ]:
            body = {"name": name, "script": script, "memory": "64Mi", **extra}
            assert client.post("/system/services", json=body).status_code == 201
        yield client


def token(http: httpx.Client, service: str) -> str:
    value: str = http.get(f"/system/services/{service}").json()["token"]
    return value


def run(http: httpx.Client, service: str, content: bytes | Iterator[bytes]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token(http, service)}"}
    return httpx.post(
        str(http.base_url.join(f"/run/{service}")), content=content, headers=headers, timeout=60
    )


def test_oscar_python_run_service(
    sluice_server: SluiceProcess, http: httpx.Client, tmp_path: Path
) -> None:
    client = Client(
        {
            "cluster_id": "local",
            "endpoint": sluice_server.url,
            "user": sluice_server.user,
            "password": sluice_server.password,
            "ssl": False,
        }
    )
    out = tmp_path / "out.txt"
    response = client.run_service("upper", input="hello oscar", output=str(out))
    assert response.status_code == 200
    assert out.read_text() == "HELLO OSCAR"


def test_chunked_base64_body(http: httpx.Client) -> None:
    encoded = base64.b64encode(b"streamed in chunks")

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(encoded), 5):
            yield encoded[start : start + 5]

    response = run(http, "upper", chunks())
    assert response.status_code == 200
    assert base64.b64decode(response.text) == b"STREAMED IN CHUNKS"


def test_several_outputs_come_back_zipped(http: httpx.Client) -> None:
    response = run(http, "two-files", base64.b64encode(b"first"))
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(response.text)))
    assert sorted(archive.namelist()) == ["a.txt", "b.txt"]
    assert archive.read("a.txt") == b"first"


def test_stdout_without_files_and_log_level(http: httpx.Client) -> None:
    quiet = run(http, "say", b'{"message": "hi"}')
    assert quiet.status_code == 200
    assert quiet.text == 'you said: {"message": "hi"}\n'
    verbose = run(http, "say-verbose", base64.b64encode(b"hello"))
    assert "you said: hello" in verbose.text
    assert "supervisor - INFO" in verbose.text


def test_non_base64_binary_body_is_used_as_is(http: httpx.Client) -> None:
    raw = bytes(range(256)) * 4
    response = run(http, "upper", raw)
    assert response.status_code == 200
    expected = bytes(b - 32 if 97 <= b <= 122 else b for b in raw)
    assert base64.b64decode(response.text) == expected


def test_bad_calls_and_the_server_keeps_serving(http: httpx.Client) -> None:
    assert run(http, "upper", b"").status_code == 400
    slow = run(http, "slow", b"x")
    assert slow.status_code == 504
    assert "did not answer within 1 s" in slow.text
    unauthorised = httpx.post(str(http.base_url.join("/run/upper")), content=b"eA==")
    assert unauthorised.status_code == 401
    assert http.post("/run/nope", content=b"eA==").status_code == 404
    assert base64.b64decode(run(http, "upper", base64.b64encode(b"ok")).text) == b"OK"


def test_concurrent_calls_respect_max_scale(http: httpx.Client) -> None:
    """Each call reports when it started and ended: at no moment did more than 4 overlap."""
    script = """
date +%s.%N
sleep 0.3
date +%s.%N
"""
    body = {
        "name": "capped",
        "script": script,
        "cpu": "0.1",
        "memory": "32Mi",
        "log_level": "CRITICAL",
        "synchronous": {"min_scale": 0, "max_scale": 4},
    }
    assert http.post("/system/services", json=body).status_code == 201
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: run(http, "capped", b"eA=="), range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    spans = [tuple(float(t) for t in a.text.split()) for a in answers]
    assert all(len(span) == 2 and span[0] < span[1] for span in spans)
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = peak = 0
    for _, change in edges:
        running += change
        peak = max(peak, running)
    assert 2 <= peak <= 4  # they did run side by side, never more than max_scale
