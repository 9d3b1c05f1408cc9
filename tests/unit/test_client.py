"""``sluice.client`` request shapes, against ``httpx.MockTransport``."""

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import sluice.client
from sluice.client import Client, ClientError, decode_output

BASIC = "Basic " + base64.b64encode(b"oscar:pw").decode()
TOKEN = "t" * 64

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A transport that answers from a handler and keeps every request."""

    def __init__(self, handler: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self._handler = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self._handler(request)

    def client(self, **options: Any) -> Client:
        options.setdefault("user", "oscar")
        options.setdefault("password", "pw")
        endpoint = options.pop("endpoint", "http://sluice.test/")
        return Client(endpoint, transport=httpx.MockTransport(self), **options)

    @property
    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, str(r.url.raw_path, "ascii")) for r in self.requests]


def answer(status: int = 200, body: Any = None, text: str | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body) if body is not None else httpx.Response(status)

    return handler


def test_public_surface() -> None:
    assert sorted(sluice.client.__all__) == ["Client", "ClientError", "decode_output"]


def test_client_imports_nothing_from_the_server() -> None:
    code = "import sys, sluice.client, sluice.fdl; print(' '.join(sorted(sys.modules)))"
    modules = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    ours = [m for m in modules if m.startswith("sluice.")]
    assert all(m.startswith(("sluice.client", "sluice.fdl")) for m in ours), ours


def test_system_calls_use_basic_auth_and_plain_paths() -> None:
    rec = Recorder(answer(body={"version": "1"}))
    client = rec.client()
    assert client.info() == {"version": "1"}
    client.config()
    client.status()
    assert rec.calls == [
        ("GET", "/system/info"),
        ("GET", "/system/config"),
        ("GET", "/system/status"),
    ]
    assert all(r.headers["authorization"] == BASIC for r in rec.requests)


def test_token_only_client_uses_bearer_for_management() -> None:
    rec = Recorder(answer(body=[]))
    assert rec.client(user=None, password=None, token="oidc").list_services() == []
    assert rec.requests[0].headers["authorization"] == "Bearer oidc"


def test_health_returns_text() -> None:
    rec = Recorder(answer(text="Ok"))
    assert rec.client().health() == "Ok"
    assert rec.calls == [("GET", "/health")]


def test_service_crud_shapes() -> None:
    rec = Recorder(answer(201))
    client = rec.client()
    svc = {"name": "cowsay", "image": "x"}
    client.create_service(svc)
    client.update_service(svc)
    client.delete_service("cowsay")
    assert rec.calls == [
        ("POST", "/system/services"),
        ("PUT", "/system/services"),
        ("DELETE", "/system/services/cowsay"),
    ]
    assert json.loads(rec.requests[0].content) == svc
    assert rec.requests[0].headers["content-type"] == "application/json"


def test_get_service_missing_raises_404() -> None:
    rec = Recorder(answer(404, text="service 'nope' not found"))
    with pytest.raises(ClientError) as caught:
        rec.client().get_service("nope")
    error = caught.value
    assert error.status_code == 404
    assert error.detail == "service 'nope' not found"
    assert str(error) == "GET /system/services/nope: 404 service 'nope' not found"


def test_service_exists() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/here"):
            return httpx.Response(200, json={"name": "here"})
        return httpx.Response(404, text="not found")

    client = Recorder(handler).client()
    assert client.service_exists("here") is True
    assert client.service_exists("gone") is False


def test_service_exists_raises_other_errors() -> None:
    with pytest.raises(ClientError) as caught:
        Recorder(answer(401)).client().service_exists("x")
    assert caught.value.status_code == 401
    assert str(caught.value) == "GET /system/services/x: 401 Unauthorized"


@pytest.mark.parametrize(
    ("exists", "method", "outcome"), [(True, "PUT", "updated"), (False, "POST", "created")]
)
def test_apply_service_gets_then_puts_or_posts(exists: bool, method: str, outcome: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200 if exists else 404, json={"name": "s"})
        headers = [("X-Sluice-Warning", "a: one"), ("X-Sluice-Warning", "b: two")]
        return httpx.Response(204 if exists else 201, headers=headers)

    rec = Recorder(handler)
    assert rec.client().apply_service({"name": "s"}) == (outcome, ["a: one", "b: two"])
    assert rec.calls == [("GET", "/system/services/s"), (method, "/system/services")]


def test_list_jobs_follows_next_page_and_merges() -> None:
    pages = {
        "": {"jobs": {"a": {"status": "Succeeded"}}, "next_page": "p2"},
        "p2": {"jobs": {"b": {"status": "Failed"}}, "next_page": "p3", "remaining_jobs": 1},
        "p3": {"jobs": {"c": {"status": "Running"}}, "next_page": ""},
    }
    rec = Recorder(lambda r: httpx.Response(200, json=pages[r.url.params["page"]]))
    jobs = rec.client().list_jobs("cowsay")
    assert list(jobs) == ["a", "b", "c"]
    assert jobs["b"] == {"status": "Failed"}
    assert rec.calls == [
        ("GET", "/system/logs/cowsay?page="),
        ("GET", "/system/logs/cowsay?page=p2"),
        ("GET", "/system/logs/cowsay?page=p3"),
    ]


def test_list_jobs_accepts_old_flat_map_and_null_jobs() -> None:
    flat = Recorder(answer(body={"job-1": {"status": "Pending"}})).client()
    assert flat.list_jobs("s") == {"job-1": {"status": "Pending"}}
    empty = Recorder(answer(body={"jobs": None})).client()
    assert empty.list_jobs("s") == {}


def test_list_jobs_stops_when_a_page_repeats() -> None:
    rec = Recorder(answer(body={"jobs": {}, "next_page": "same"}))
    rec.client().list_jobs("s")
    assert len(rec.requests) == 2


def test_job_logs_and_deletes() -> None:
    rec = Recorder(answer(text="line 1\n"))
    client = rec.client()
    assert client.get_job_log("s", "job-1") == "line 1\n"
    client.get_job_log("s", "job-1", timestamps=True)
    client.delete_job("s", "job-1")
    client.delete_jobs("s")
    client.delete_jobs("s", all=True)
    assert rec.calls == [
        ("GET", "/system/logs/s/job-1"),
        ("GET", "/system/logs/s/job-1?timestamps=true"),
        ("DELETE", "/system/logs/s/job-1"),
        ("DELETE", "/system/logs/s"),
        ("DELETE", "/system/logs/s?all=true"),
    ]


def service_then(status: int, body: bytes = b"") -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/system/services/"):
            return httpx.Response(200, json={"name": "s", "token": TOKEN})
        return httpx.Response(status, content=body)

    return handler


def test_run_fetches_the_service_token_and_sends_bearer_only() -> None:
    rec = Recorder(service_then(200, b"aGVsbG8="))
    assert rec.client().run("s", b"aW4=") == b"aGVsbG8="
    get, run = rec.requests
    assert (get.method, get.url.path, get.headers["authorization"]) == (
        "GET",
        "/system/services/s",
        BASIC,
    )
    assert (run.method, run.url.path, run.content) == ("POST", "/run/s", b"aW4=")
    assert run.headers["authorization"] == f"Bearer {TOKEN}"


def test_invoke_job_with_a_given_token_skips_the_lookup() -> None:
    rec = Recorder(answer(201))
    rec.client(token="given").invoke_job("s", b"{}")
    assert rec.calls == [("POST", "/job/s")]
    assert rec.requests[0].headers["authorization"] == "Bearer given"


def test_invoke_without_a_service_token_fails_clearly() -> None:
    rec = Recorder(answer(body={"name": "s", "token": ""}))
    with pytest.raises(ClientError, match="service 's' has no token"):
        rec.client().invoke_job("s", b"")


def test_run_error_carries_status_and_detail() -> None:
    rec = Recorder(service_then(502, b"service not ready"))
    with pytest.raises(ClientError) as caught:
        rec.client().run("s", b"")
    assert caught.value.status_code == 502
    assert str(caught.value) == "POST /run/s: 502 service not ready"


def test_names_are_quoted_in_paths() -> None:
    rec = Recorder(answer(204))
    rec.client().delete_service("a/b c")
    assert rec.calls == [("DELETE", "/system/services/a%2Fb%20c")]


def test_bad_request_message_and_detail() -> None:
    text = "invalid service 'x': memory: must be a Kubernetes quantity\n"
    with pytest.raises(ClientError) as caught:
        Recorder(answer(400, text=text)).client().create_service({"name": "x"})
    assert caught.value.detail == text.strip()
    assert str(caught.value) == f"POST /system/services: 400 {text.strip()}"


def test_long_error_bodies_are_cut_in_the_message_only() -> None:
    body = "x" * 2000
    with pytest.raises(ClientError) as caught:
        Recorder(answer(500, text=body)).client().info()
    assert caught.value.detail == body
    assert len(str(caught.value)) < 600


def test_non_json_answer() -> None:
    with pytest.raises(ClientError, match="did not answer with JSON"):
        Recorder(answer(text="<html>")).client().info()


def test_wrong_json_shape() -> None:
    with pytest.raises(ClientError, match="a list of services"):
        Recorder(answer(body={"services": []})).client().list_services()


def test_connection_refused_names_the_endpoint() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(ClientError) as caught:
        Recorder(refuse).client(endpoint="http://127.0.0.1:9").health()
    assert str(caught.value) == (
        "cannot reach Sluice at http://127.0.0.1:9: connection refused; is `sluice up` running?"
    )
    assert caught.value.status_code is None


def test_real_connection_refused() -> None:
    with pytest.raises(ClientError, match=r"^cannot reach Sluice at http://127\.0\.0\.1:9: "):
        Client("http://127.0.0.1:9", "u", "p").health()


def test_timeout() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ClientError, match=r"^POST /run/s: timed out after 5s$"):
        Recorder(slow).client(token="t").run("s", b"", timeout=5)


def test_context_manager_closes() -> None:
    with Recorder(answer(text="Ok")).client() as client:
        client.health()
    with pytest.raises(RuntimeError):
        client.health()


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (b"aGVsbG8=", b"hello"),
        (b"aGVsbG8=\n", b"hello"),
        (b"hello world\n", b"hello world\n"),
        (b"hello", b"hello"),
        (b"", b""),
        (b"\x89PNG\r\n", b"\x89PNG\r\n"),
    ],
)
def test_decode_output(raw: bytes, decoded: bytes) -> None:
    assert decode_output(raw) == decoded
