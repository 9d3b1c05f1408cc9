"""The HTTP API in-process: the routes, auth and error mapping over the real core and ledger (its
services and jobs on SQLite and on PostgreSQL)."""

import json

from fastapi.testclient import TestClient

from sluice.domain.job import JobStatus
from sluice.domain.results import SyncResult
from sluice.execution.fake import FakeExecutor
from sluice.server.platform import Platform
from sluice.storage.memory import MemoryStorage
from tests.inprocess.conftest import WEBHOOK_TOKEN, service_body, wait_status
from tests.postgres import both_databases

pytestmark = both_databases


def test_create_list_get_delete(api: TestClient, store: MemoryStorage) -> None:
    assert api.post("/system/services", json=service_body()).status_code == 201
    assert api.post("/system/services", json=service_body()).status_code == 409
    [listed] = api.get("/system/services").json()
    assert listed["name"] == "echo" and len(listed["token"]) == 64
    assert list(store.list_objects("echo")) == []  # folders exist, no objects
    assert api.get("/system/services/echo").json()["script"] == "cat $INPUT_FILE_PATH"
    assert api.delete("/system/services/echo").status_code == 204
    assert api.get("/system/services/echo").status_code == 404


def test_a_service_refused_by_a_check_leaves_no_bucket_behind(
    api: TestClient, store: MemoryStorage
) -> None:
    first = service_body(
        "first", output=[{"storage_provider": "minio.default", "path": "shared/in"}]
    )
    assert api.post("/system/services", json=first).status_code == 201
    closing = service_body(
        "second",
        input=[{"storage_provider": "minio.default", "path": "shared/in"}],
        output=[
            {"storage_provider": "minio.default", "path": "first/in"},
            {"storage_provider": "minio.default", "path": "fresh/out"},
        ],
    )
    answer = api.post("/system/services", json=closing)
    assert answer.status_code == 400
    assert "second → first → second" in answer.text
    assert "fresh" not in store._buckets  # checks run before any bucket is made


def test_executor_warnings_come_back_in_a_header(api: TestClient, executor: FakeExecutor) -> None:
    executor.warnings = ["image 'x' is not used by the process runtime"]
    answer = api.post("/system/services", json=service_body())
    assert answer.status_code == 201
    assert answer.headers.get_list("X-Sluice-Warning") == [
        "image 'x' is not used by the process runtime"
    ]


def test_unknown_fields_are_warned_about_and_ignored(api: TestClient) -> None:
    answer = api.post("/system/services", json=service_body(memroy="1Gi"))
    assert answer.status_code == 201
    assert answer.headers.get_list("X-Sluice-Warning") == ["memroy: unknown field, ignored"]
    assert api.get("/system/services/echo").json()["memory"] == "64Mi"
    update = api.put("/system/services", json=service_body(input=[{"path": "echo/in", "x": 1}]))
    assert update.status_code == 204
    assert update.headers.get_list("X-Sluice-Warning") == ["input.0.x: unknown field, ignored"]


def test_job_route_with_the_service_token(api: TestClient, platform: Platform) -> None:
    api.post("/system/services", json=service_body())
    token = api.get("/system/services/echo").json()["token"]
    bare = TestClient(api.app)
    assert bare.post("/job/echo", content=b"hello").status_code == 401
    answer = bare.post(
        "/job/echo", content=b"aGVsbG8=", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 201
    [job_id] = answer.headers["X-Sluice-Job"].split(",")
    [done] = wait_status(platform, "echo", JobStatus.SUCCEEDED, 1)
    assert done.id == job_id
    listing = api.get("/system/logs/echo").json()
    assert listing["jobs"][job_id]["status"] == "Succeeded"
    assert api.get(f"/system/logs/echo/{job_id}").text == f"ran {job_id}\n"


def test_a_running_jobs_log_is_read_live(
    api: TestClient, platform: Platform, executor: FakeExecutor
) -> None:
    executor.hold = True
    api.post("/system/services", json=service_body())
    job_id = api.post("/job/echo", content=b"x").headers["X-Sluice-Job"]
    executor.wait_started(1)
    assert api.get(f"/system/logs/echo/{job_id}").text == f"{job_id} is running\n"


def test_run_route_answers_what_the_executor_answers(
    api: TestClient, executor: FakeExecutor
) -> None:
    executor.answer = lambda record, body: SyncResult(200, b"answer to " + body)
    api.post("/system/services", json=service_body(timeout=7))
    answer = api.post("/run/echo", content=b"question")
    assert answer.status_code == 200 and answer.content == b"answer to question"
    assert executor.calls == [("echo", b"question", 7.0)]
    assert api.post("/run/echo", content=b"  ").status_code == 400
    assert api.post("/run/nope", content=b"x").status_code == 404


def test_store_events_start_jobs_for_watched_paths_only(
    api: TestClient, platform: Platform, store: MemoryStorage
) -> None:
    api.post("/system/services", json=service_body())

    def event(key: str) -> dict[str, object]:
        return {
            "event_type": "create",
            "key": f"/buckets/echo/{key}",
            "message": {
                "new_parent_path": "/buckets/echo/" + key.rpartition("/")[0],
                "new_entry": {
                    "name": key.rpartition("/")[2],
                    "chunks": [{"file_id": "1,ab", "size": 5}],
                    "attributes": {"file_size": 5, "md5": "XUFAKrxLKna5cZ2REBfFkg=="},
                },
            },
        }

    hook = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    bare = TestClient(api.app)
    assert bare.post("/events/seaweedfs", json=event("in/a.txt")).status_code == 401
    assert bare.post("/events/seaweedfs", json=event("in/a.txt"), headers=hook).text == "1 job(s)"
    assert bare.post("/events/seaweedfs", json=event("in/a.txt"), headers=hook).text == "0 job(s)"
    assert bare.post("/events/seaweedfs", json=event("out/a.txt"), headers=hook).text == "ignored"
    bad = bare.post("/events/seaweedfs", content=b"{nope", headers=hook)
    assert bad.status_code == 400
    assert "not valid JSON" in bad.text
    huge = bare.post("/events/seaweedfs", content=b" " * ((1 << 20) + 1), headers=hook)
    assert (huge.status_code, huge.text) == (413, "event body: larger than 1048576 bytes")
    [job] = wait_status(platform, "echo", JobStatus.SUCCEEDED, 1)
    assert job.source is not None and job.source.key == "in/a.txt"
    assert json.loads(platform.jobs.ledger.load(job.id).payload or b"")["Key"] == "echo/in/a.txt"


def test_reconciliation_finds_uploads_that_have_no_job(
    api: TestClient, platform: Platform, store: MemoryStorage
) -> None:
    api.post("/system/services", json=service_body())
    store.put("echo/in/missed.txt", b"missed")
    store.put("echo/out/ignored.txt", b"not an input")
    assert platform.reconciler.run_once() == 1
    assert platform.reconciler.run_once() == 0
    [job] = wait_status(platform, "echo", JobStatus.SUCCEEDED, 1)
    assert job.source is not None and job.source.key == "in/missed.txt"


def test_a_stored_service_no_longer_valid_does_not_break_the_list(
    api: TestClient, platform: Platform
) -> None:
    """A definition saved before a rule existed (here: a variable name with '=')."""
    api.post("/system/services", json=service_body("good"))
    api.post("/system/services", json=service_body("old"))
    store = platform.services._store
    stored = store.get("old")
    stored.definition["environment"]["variables"] = {"A=B": "1"}
    store.replace("old", stored.definition)
    platform.services._cache.clear()
    assert [s["name"] for s in api.get("/system/services").json()] == ["good"]
    broken = api.get("/system/services/old")
    assert broken.status_code == 400 and "as stored" in broken.text
    assert api.delete("/system/services/old").status_code == 204


def test_the_listing_says_what_each_service_says(api: TestClient) -> None:
    """The listing is built from per-version encodings; it must match the single answers."""
    for name in ("alpha", "beta", "gamma"):
        api.post("/system/services", json=service_body(name, environment={"secrets": {"S": "x"}}))
    api.put("/system/services", json=service_body("beta", memory="128Mi"))  # a new version
    listed = api.get("/system/services").json()
    assert listed == [
        api.get(f"/system/services/{name}").json() for name in ("alpha", "beta", "gamma")
    ]
    assert listed[1]["memory"] == "128Mi"
    with_deployments = api.get("/system/services", params={"include": "deployment"}).json()
    assert all("deployment" in service for service in with_deployments)
