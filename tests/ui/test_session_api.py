"""Sessions at the HTTP level, in process (real ledger and routes, in-memory store): what a
cookie allows, what it needs for changes, and that Basic still works as before."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sluice.api.app import create_app
from sluice.execution.fake import FakeExecutor
from sluice.storage.memory import MemoryStorage
from tests.inprocess.conftest import ADMIN, make_platform, service_body


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    platform = make_platform(tmp_path, FakeExecutor(), MemoryStorage())
    platform.start()
    try:
        with TestClient(create_app(platform)) as client:
            yield client
    finally:
        platform.stop()


def login(client: TestClient) -> str:
    answer = client.post("/ui/login", json={"user": ADMIN[0], "password": ADMIN[1]})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    csrf: str = answer.json()["csrf"]
    return csrf


def test_a_session_reads_and_with_its_token_changes(client: TestClient) -> None:
    csrf = login(client)
    assert client.get("/system/services").json() == []
    created = client.post("/system/services", json=service_body(), headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    assert [s["name"] for s in client.get("/system/services").json()] == ["echo"]


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_change_without_the_right_token_is_refused(client: TestClient, token: str | None) -> None:
    login(client)
    headers = {"X-CSRF-Token": token} if token else {}
    refused = client.post("/system/services", json=service_body(), headers=headers)
    assert refused.status_code == 403
    assert client.get("/system/services").json() == []


def test_logout_ends_the_session(client: TestClient) -> None:
    login(client)
    assert client.post("/ui/logout").status_code == 204
    assert client.get("/ui/session").status_code == 401
    assert client.get("/system/services").status_code == 401


def test_wrong_password_gives_no_session(client: TestClient) -> None:
    answer = client.post("/ui/login", json={"user": ADMIN[0], "password": "nope"})
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers
    assert client.get("/ui/session").status_code == 401


def test_basic_keeps_its_challenge_and_the_ui_gets_none(client: TestClient) -> None:
    plain = client.get("/system/services")
    assert plain.status_code == 401 and "www-authenticate" in plain.headers
    from_ui = client.get("/system/services", headers={"X-Sluice-UI": "1"})
    assert from_ui.status_code == 401 and "www-authenticate" not in from_ui.headers
    assert client.get("/system/services", auth=ADMIN).status_code == 200


def test_a_forged_cookie_is_no_session(client: TestClient) -> None:
    client.cookies.set("sluice_session", "made-up")
    assert client.get("/system/services").status_code == 401


def test_root_redirects_to_the_ui_and_the_page_forbids_other_origins(client: TestClient) -> None:
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/ui"
    page = client.get("/ui")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/ui/assets/app.js").status_code == 200
    assert client.get("/ui/assets/../api/app.py").status_code == 404


def test_a_stored_page_is_never_served_as_a_page_of_this_origin(client: TestClient) -> None:
    page = b"<script>fetch('/ui/session')</script>"
    stored = client.put("/ui/api/files/site/x/evil.html?force=true", content=page, auth=ADMIN)
    assert stored.status_code == 200
    for inline in ("true", "false"):
        served = client.get(f"/ui/api/files/site/x/evil.html?inline={inline}", auth=ADMIN)
        assert served.content == page
        assert served.headers["content-security-policy"].startswith("sandbox")
        assert served.headers["x-content-type-options"] == "nosniff"
    preview = client.get("/ui/api/files/site/x/evil.html?inline=true", auth=ADMIN)
    assert preview.headers["content-type"].startswith("text/plain")
