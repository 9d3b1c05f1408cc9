"""Issue 13: deployment views in OSCAR's states, from the runtime that runs the service."""

import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from oscar_python.client import Client
from tests.e2e.helpers import statuses, wait_for
from tests.sluice_process import readable_by_jobs

MODEL = """
def load(context):
    return "ready"


def broken_load(context):
    raise RuntimeError("the model file is missing")


def handle(input_path, output_dir, state):
    return state
"""


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = readable_by_jobs(tmp_path_factory.mktemp("code"))
    (folder / "model.py").write_text(textwrap.dedent(MODEL))
    return folder


def handler_service(name: str, code: Path, init: str, min_scale: int) -> dict[str, Any]:
    return {
        "name": name,
        "handler": "model:handle",
        "init": init,
        "pythonpath": [str(code)],
        "memory": "128Mi",
        "cpu": "0.2",
        "synchronous": {"min_scale": min_scale, "max_scale": 1},
    }


def state(http: httpx.Client, name: str) -> dict[str, Any]:
    answer = http.get(f"/system/services/{name}/deployment")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def test_a_script_service_is_ready_on_demand(oscar: Client, http: httpx.Client) -> None:
    body = {"name": "scripted", "script": "echo running; echo done", "log_level": "INFO"}
    assert http.post("/system/services", json=body).status_code == 201
    status = oscar.get_deployment_status("scripted").json()
    assert status == {
        "service_name": "scripted",
        "namespace": "oscar-svc",
        "state": "ready",
        "reason": status["reason"],
        "active_instances": 0,
        "affected_instances": 0,
        "resource_kind": "knative_service",
    }
    empty = oscar.get_deployment_logs("scripted").json()
    assert empty["available"] is False and empty["entries"] == []

    assert http.post("/job/scripted", content=b"x").status_code == 201
    wait_for(lambda: statuses(http, "scripted") == ["Succeeded"], what="the job")
    logs = http.get("/system/services/scripted/deployment/logs").json()
    assert logs["available"] is True
    messages = [entry["message"] for entry in logs["entries"]]
    assert "running" in messages and "done" in messages
    assert all("timestamp" not in entry for entry in logs["entries"])
    tail = http.get(
        "/system/services/scripted/deployment/logs", params={"tailLines": 2, "timestamps": "true"}
    ).json()
    assert len(tail["entries"]) == 2
    stamped = [e for e in tail["entries"] if "supervisor" in e["message"]]
    assert stamped and all(e["timestamp"].endswith("Z") for e in stamped)


def test_warm_workers_make_a_handler_ready(http: httpx.Client, code: Path) -> None:
    created = http.post("/system/services", json=handler_service("warm", code, "model:load", 1))
    assert created.status_code == 201, created.text
    ready = wait_for(
        lambda: (s := state(http, "warm"))["state"] == "ready" and s, what="a warm worker"
    )
    assert ready["active_instances"] == 1 and ready["affected_instances"] == 0

    created = http.post("/system/services", json=handler_service("cold", code, "model:load", 0))
    assert created.status_code == 201, created.text
    cold = state(http, "cold")
    assert (cold["state"], cold["active_instances"]) == ("ready", 0)
    assert "zero" in cold["reason"]


def test_workers_that_cannot_start_are_not_ready(http: httpx.Client, code: Path) -> None:
    body = handler_service("broken", code, "model:broken_load", 1)
    assert http.post("/system/services", json=body).status_code == 201
    token = http.get("/system/services/broken").json()["token"]
    call = httpx.post(
        f"{http.base_url}/run/broken", content=b"x", headers={"Authorization": f"Bearer {token}"}
    )
    assert call.status_code == 500
    status = state(http, "broken")  # the start failed: said so, with why
    assert status["state"] == "failed" and status["active_instances"] == 0
    assert status["reason"].startswith("Workers cannot start: worker for handler")


def test_the_listing_includes_deployments_on_request(http: httpx.Client) -> None:
    plain = http.get("/system/services").json()
    assert all("deployment" not in service for service in plain)
    listed = http.get("/system/services", params={"include": "deployment"}).json()
    summaries = {service["name"]: service["deployment"] for service in listed}
    assert summaries["scripted"]["state"] == "ready"
    assert set(summaries["scripted"]) == {
        "state",
        "reason",
        "active_instances",
        "affected_instances",
        "resource_kind",
    }
    one = http.get("/system/services/scripted", params={"include": "deployment"}).json()
    assert one["deployment"]["resource_kind"] == "knative_service"


@pytest.mark.parametrize("action", ["stop", "start", "restart"])
def test_lifecycle_is_for_exposed_services_only(http: httpx.Client, action: str) -> None:
    answer = http.post(f"/system/services/scripted/{action}")
    assert answer.status_code == 400
    assert "not exposed" in answer.text
    assert http.post(f"/system/services/ghost/{action}").status_code == 404


def test_unknown_services_are_404(http: httpx.Client) -> None:
    assert http.get("/system/services/ghost/deployment").status_code == 404
    assert http.get("/system/services/ghost/deployment/logs").status_code == 404


def test_service_auth_check(http: httpx.Client) -> None:
    token = http.get("/system/services/scripted").json()["token"]
    base = f"{http.base_url}/system/services"
    assert http.get("/system/services/scripted/auth").status_code == 200
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{base}/scripted/auth", headers=bearer).status_code == 200
    assert httpx.get(f"{base}/scripted/auth", params={"token": token}).status_code == 200
    assert httpx.get(f"{base}/scripted/auth", params={"token": "no"}).status_code == 401
    assert httpx.get(f"{base}/scripted/auth").status_code == 401
    assert http.get("/system/services/ghost/auth").status_code == 404
