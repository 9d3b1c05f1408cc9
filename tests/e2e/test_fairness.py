"""One caller cannot stall everyone: long /run calls leave the API responsive, a service's
calls beyond its bound are refused at once, half-sent connections are closed."""

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from tests.sluice_process import SluiceProcess


@pytest.fixture(scope="module")
def sluice_env() -> dict[str, str]:
    return {"SLUICE_HEADER_TIMEOUT": "1", "SLUICE_MAX_WAITING_CALLS": "3"}


def long_service(http: httpx.Client, name: str, max_scale: int) -> None:
    body = {
        "name": name,
        "script": "sleep 8; echo slept",
        "cpu": "0.01",
        "memory": "16Mi",
        "log_level": "CRITICAL",
        "synchronous": {"max_scale": max_scale},
    }
    assert http.post("/system/services", json=body).status_code == 201


def test_the_api_answers_while_45_long_calls_run(
    http: httpx.Client, sluice_server: SluiceProcess
) -> None:
    long_service(http, "sleepy", max_scale=50)
    with ThreadPoolExecutor(45) as pool, httpx.Client(timeout=60, auth=http.auth) as caller:
        calls = [
            pool.submit(caller.post, f"{sluice_server.url}/run/sleepy", content=b"eA==")
            for _ in range(45)
        ]
        time.sleep(2)  # all of them running now
        assert not any(call.done() for call in calls)
        for _ in range(10):  # each answers; were the calls holding the threads, none would
            assert httpx.get(f"{sluice_server.url}/health", timeout=5).text == "Ok"
            assert http.get("/system/services", timeout=5).status_code == 200
        answers = [call.result() for call in calls]
    assert [a.status_code for a in answers] == [200] * 45
    assert {a.text for a in answers} == {"slept\n"}


def test_calls_beyond_a_services_bound_are_refused_at_once(
    http: httpx.Client, sluice_server: SluiceProcess
) -> None:
    long_service(http, "narrow", max_scale=2)
    with ThreadPoolExecutor(5) as pool, httpx.Client(timeout=60, auth=http.auth) as caller:
        admitted = [
            pool.submit(caller.post, f"{sluice_server.url}/run/narrow", content=b"eA==")
            for _ in range(5)  # 2 running and 3 waiting: the bound
        ]
        time.sleep(2)
        refused = caller.post(f"{sluice_server.url}/run/narrow", content=b"eA==")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert "has 5 calls running or waiting" in refused.text
        assert [call.result().status_code for call in admitted] == [200] * 5


def test_half_sent_requests_are_disconnected(sluice_server: SluiceProcess) -> None:
    held = []
    for _ in range(100):
        conn = socket.create_connection(("127.0.0.1", sluice_server.port))
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: sluice\r\n")  # never the blank line
        held.append(conn)
    time.sleep(3)
    for conn in held:
        conn.settimeout(5)
        assert conn.recv(1024) == b""  # the server closed it
        conn.close()
    assert httpx.get(f"{sluice_server.url}/health", timeout=5).text == "Ok"
