"""Secrets are never returned by the API, survive an edit of what the API returned, and are
encrypted in the database."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sluice.errors import StateError
from sluice.execution.fake import FakeExecutor
from sluice.server.platform import Platform
from sluice.storage.memory import MemoryStorage
from tests.inprocess.conftest import make_platform, service_body

SECRETS = ["env-secret-value", "other-access", "other-secret-key", "dav-password", "cloud-pass"]


def secret_service() -> dict[str, object]:
    return service_body(
        environment={"variables": {"PLAIN": "visible"}, "secrets": {"API_KEY": SECRETS[0]}},
        storage_providers={
            "minio": {
                "other": {
                    "endpoint": "http://other.invalid",
                    "access_key": SECRETS[1],
                    "secret_key": SECRETS[2],
                }
            },
            "webdav": {"dav": {"hostname": "dav.invalid", "login": "me", "password": SECRETS[3]}},
        },
        clusters={
            "cloud": {
                "endpoint": "http://cloud.invalid",
                "auth_user": "u",
                "auth_password": SECRETS[4],
            }
        },
    )


def test_secrets_are_hidden_on_the_wire(api: TestClient) -> None:
    assert api.post("/system/services", json=secret_service()).status_code == 201
    for shown in (api.get("/system/services/echo").text, api.get("/system/services").text):
        assert not [secret for secret in SECRETS if secret in shown]
    service = api.get("/system/services/echo").json()
    assert service["environment"] == {"variables": {"PLAIN": "visible"}, "secrets": {"API_KEY": ""}}
    other = service["storage_providers"]["minio"]["other"]
    assert (other["access_key"], other["secret_key"]) == ("hidden", "hidden")
    assert service["storage_providers"]["webdav"]["dav"]["password"] == "hidden"
    assert service["clusters"]["cloud"]["auth_password"] == "hidden"


def test_an_edit_of_what_the_api_returned_keeps_the_secrets(
    api: TestClient, platform: Platform
) -> None:
    api.post("/system/services", json=secret_service())
    edited = api.get("/system/services/echo").json()
    edited["memory"] = "128Mi"
    edited["storage_providers"]["webdav"]["dav"]["password"] = "a-new-password"
    assert api.put("/system/services", json=edited).status_code == 204
    stored = platform.services.get("echo").service
    assert stored.memory == "128Mi"
    assert stored.environment.secrets == {"API_KEY": SECRETS[0]}
    other = stored.storage_providers.minio["other"]
    assert (other.access_key, other.secret_key) == (SECRETS[1], SECRETS[2])
    assert stored.storage_providers.webdav["dav"].password == "a-new-password"
    assert stored.clusters["cloud"].auth_password == SECRETS[4]


def test_the_database_holds_no_secret_in_clear(api: TestClient, tmp_path: Path) -> None:
    api.post("/system/services", json=secret_service())
    token = api.get("/system/services/echo").json()["token"]
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("sluice.db*"))
    assert raw  # the database and its WAL
    assert not [s for s in [*SECRETS, token] if s.encode() in raw]
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_another_key_cannot_open_the_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_platform(tmp_path, FakeExecutor(), MemoryStorage())
    first.services.create(secret_service())
    monkeypatch.setenv("SLUICE_SECRET_KEY", "x" * 43 + "=")
    with pytest.raises(StateError, match="the secret key is not the one they were stored with"):
        make_platform(tmp_path, FakeExecutor(), MemoryStorage())
