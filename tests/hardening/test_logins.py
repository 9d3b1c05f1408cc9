"""Failed logins are limited per client address; successful ones are never counted or slowed."""

import pytest
from fastapi.testclient import TestClient

from sluice.api.auth import LOGIN_BURST, FailedLogins
from tests.hardening.conftest import ADMIN

WRONG = ("oscar", "not-the-password")


def test_a_burst_of_failures_then_429_with_retry_after(api: TestClient) -> None:
    for _ in range(LOGIN_BURST):
        assert api.get("/system/info", auth=WRONG).status_code == 401
    refused = api.get("/system/info", auth=WRONG)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "too many failed logins" in refused.text
    # Not even the right password is checked while the address is over its burst: a 200
    # would tell a guesser that this guess was the one.
    assert api.get("/system/info", auth=ADMIN).status_code == 429
    assert api.post("/job/echo", content=b"x", auth=WRONG).status_code == 429


def test_other_addresses_are_not_affected(api: TestClient) -> None:
    for _ in range(LOGIN_BURST + 1):
        api.get("/system/info", auth=WRONG)
    elsewhere = TestClient(api.app, client=("192.0.2.7", 50000))
    assert elsewhere.get("/system/info", auth=ADMIN).status_code == 200


def test_successful_logins_are_never_counted(api: TestClient) -> None:
    for _ in range(LOGIN_BURST - 1):
        assert api.get("/system/info", auth=WRONG).status_code == 401
    for _ in range(200):
        assert api.get("/system/info", auth=ADMIN).status_code == 200
    assert api.get("/system/info", auth=WRONG).status_code == 401  # the burst's last one


def test_no_credentials_is_not_a_failed_login(api: TestClient) -> None:
    bare = TestClient(api.app)
    for _ in range(LOGIN_BURST * 3):
        assert bare.get("/system/info").status_code == 401
    assert bare.get("/system/info", auth=ADMIN).status_code == 200


def test_the_allowance_refills_with_time() -> None:
    now = [1000.0]
    failures = FailedLogins(burst=3, interval=5.0, clock=lambda: now[0])
    for _ in range(3):
        assert failures.retry_after("a") == 0
        failures.failed("a")
    assert failures.retry_after("a") == 5
    now[0] += 2.0
    assert failures.retry_after("a") == 3
    now[0] += 3.0
    assert failures.retry_after("a") == 0
    failures.failed("a")
    assert failures.retry_after("a") == 5
    assert failures.retry_after("b") == 0


def test_the_addresses_remembered_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sluice.api.auth.MAX_ADDRESSES", 100)
    failures = FailedLogins(burst=2, interval=1.0, clock=lambda: 0.0)
    for index in range(1000):
        failures.failed(f"10.0.{index // 256}.{index % 256}")
    assert len(failures._buckets) <= 100
