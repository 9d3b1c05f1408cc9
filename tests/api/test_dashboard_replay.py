"""Issue 13: the requests OSCAR's dashboard (grycap/oscar-dashboard, checked by hand in a
browser) makes for each screen, replayed from another origin, and what it reads from the
answers. The request shapes were recorded from the real dashboard; no dashboard code is here.
"""

import base64
from datetime import datetime
from typing import Any

import httpx
import pytest
from tests.e2e.helpers import statuses, wait_for
from tests.sluice_process import SluiceProcess

ORIGIN = "http://127.0.0.1:5173"
SERVICE = "dash-svc"


@pytest.fixture(scope="module")
def sluice_env() -> dict[str, str]:
    return {"SLUICE_CORS_ORIGINS": ORIGIN}


@pytest.fixture(scope="module")
def browser(sluice_server: SluiceProcess) -> httpx.Client:
    """What axios sends: Basic credentials in the Authorization header, the page's Origin."""
    return httpx.Client(
        base_url=sluice_server.url,
        auth=(sluice_server.user, sluice_server.password or ""),
        headers={"Origin": ORIGIN},
        timeout=30,
    )


@pytest.fixture(scope="module")
def store(browser: httpx.Client) -> dict[str, Any]:
    return call(browser, "GET", "/system/config")["minio_provider"]


def call(browser: httpx.Client, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    """One request as the page makes it: a preflight first (axios sends Authorization, and
    JSON bodies), then the request; the page can read the answer only with the CORS header."""
    preflight = httpx.options(
        f"{browser.base_url}{path}",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200, (path, preflight.text)
    answer = browser.request(method, path, **kwargs)
    assert answer.status_code == status, (method, path, answer.text)
    assert answer.headers.get("access-control-allow-origin") == ORIGIN
    if "json" in answer.headers.get("content-type", ""):
        return answer.json()
    return answer.text


def version_is_lower(version: str, target: str) -> bool:
    """The dashboard's isVersionLower, which turns features on by OSCAR version."""
    if version == "devel":
        return False

    def parts(text: str) -> list[int]:
        return [int("".join(c for c in p if c.isdigit()) or 0) for p in text.split(".")]

    have, want = parts(version), parts(target)
    for index in range(3):
        mine = have[index] if index < len(have) else 0
        theirs = want[index] if index < len(want) else 0
        if mine != theirs:
            return mine < theirs
    return False


def test_login_and_info_screen(browser: httpx.Client, store: dict[str, Any]) -> None:
    info = call(browser, "GET", "/system/info")
    for feature in ("3.6.4", "v3.8.0", "v4.1.0"):  # the versions the dashboard compares with
        assert not version_is_lower(info["version"], feature)
    assert isinstance(info["git_commit"], str)
    config = call(browser, "GET", "/system/config")
    assert isinstance(config["config"]["oidc_groups"], list)
    for key in ("gpu_available", "interLink_available", "yunikorn_enable"):
        assert isinstance(config["config"][key], bool)
    # Without all four the bucket browser builds no S3 client.
    assert all(store[key] for key in ("endpoint", "access_key", "secret_key", "region"))
    wrong = httpx.get(
        f"{browser.base_url}/system/info", headers={"Origin": ORIGIN}, auth=("oscar", "nope")
    )
    assert wrong.status_code == 401  # shown as "Invalid credentials", readable thanks to CORS
    assert wrong.headers["access-control-allow-origin"] == ORIGIN


@pytest.fixture(scope="module")
def service(browser: httpx.Client) -> dict[str, Any]:
    body = {
        "name": SERVICE,
        "image": "ghcr.io/grycap/cowsay",
        "cpu": "0.2",
        "script": 'wc -c < "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/out.txt"',
        "input": [{"storage_provider": "minio.default", "path": f"{SERVICE}/in"}],
        "output": [{"storage_provider": "minio.default", "path": f"{SERVICE}/out"}],
        "environment": {"variables": {}, "secrets": {"API_KEY": "s3cret"}},
    }
    call(browser, "POST", "/system/services", 201, json=body)
    created: dict[str, Any] = call(browser, "GET", f"/system/services/{SERVICE}")
    return created


def test_services_screens(browser: httpx.Client, service: dict[str, Any]) -> None:
    listed = call(browser, "GET", "/system/services", params={"include": "deployment"})
    [row] = [s for s in listed if s["name"] == SERVICE]
    for key in ("owner", "visibility", "image", "cpu", "memory"):
        assert isinstance(row[key], str)
    assert row["deployment"]["state"] == "ready"

    # Settings → Update: the form sends back what it read, with fields of its own.
    edited = {**service, "memory": "128Mi", "pythonpath": [], "batch_size": 1}
    call(browser, "PUT", "/system/services", 204, json=edited)
    after = call(browser, "GET", f"/system/services/{SERVICE}")
    assert after["memory"] == "128Mi" and after["token"] == service["token"]
    assert after["environment"]["secrets"] == {"API_KEY": ""}

    # Invoke: base64 of the file, with the service token.
    token = {"Authorization": f"Bearer {service['token']}"}
    answer = httpx.post(
        f"{browser.base_url}/run/{SERVICE}",
        content=base64.b64encode(b"0123456789"),
        headers={"Origin": ORIGIN, **token},
    )
    assert answer.status_code == 200
    assert base64.b64decode(answer.text).strip() == b"10"


def test_logs_and_deployment_tabs(browser: httpx.Client, service: dict[str, Any]) -> None:
    call(browser, "POST", f"/job/{SERVICE}", 201, content=b"aGk=")
    wait_for(lambda: "Succeeded" in statuses(browser, SERVICE), what="a job")
    jobs = call(browser, "GET", f"/system/logs/{SERVICE}", params={"page": ""})
    [job] = [name for name, info in jobs["jobs"].items() if info["status"] == "Succeeded"][:1]
    assert "finish_time" in jobs["jobs"][job]
    assert "supervisor" in call(browser, "GET", f"/system/logs/{SERVICE}/{job}")
    status = call(browser, "GET", f"/system/services/{SERVICE}/deployment")
    assert status["resource_kind"] in ("exposed_service", "knative_service", "unavailable")
    logs = call(
        browser,
        "GET",
        f"/system/services/{SERVICE}/deployment/logs",
        params={"timestamps": "false", "tailLines": "200"},
    )
    assert logs["available"] is True and all("message" in e for e in logs["entries"])


def test_buckets_screens(
    browser: httpx.Client, store: dict[str, Any], service: dict[str, Any]
) -> None:
    call(
        browser,
        "POST",
        "/system/buckets",
        201,
        json={"bucket_name": "dash-photos", "visibility": "private", "allowed_users": []},
    )
    listed = {b["bucket_name"]: b for b in call(browser, "GET", "/system/buckets")}
    assert listed[SERVICE]["metadata"]["from_service"] == SERVICE
    assert listed["dash-photos"]["visibility"] in ("private", "public", "restricted")
    assert listed["dash-photos"]["owner"] == "oscar"  # the admin's own, for "My buckets"

    # The page lists and uploads through S3 itself: the store must allow this origin too.
    s3_preflight = httpx.options(
        f"{store['endpoint']}/dash-photos/hello.txt",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,x-amz-date,x-amz-content-sha256",
        },
    )
    assert s3_preflight.headers.get("access-control-allow-origin") == ORIGIN

    share = call(
        browser,
        "POST",
        "/system/buckets/dash-photos/presign",
        json={"object_key": "incoming/from-link.txt", "operation": "upload", "expires_in": 3600},
    )
    assert share["method"] == "PUT"
    uploaded = httpx.put(share["url"], content=b"from a link", headers={"Origin": ORIGIN})
    assert uploaded.status_code == 200
    assert uploaded.headers.get("access-control-allow-origin") == ORIGIN

    details = call(browser, "GET", "/system/buckets/dash-photos")
    [item] = details["objects"]
    assert (item["object_name"], item["size_bytes"]) == ("incoming/from-link.txt", 11)
    datetime.fromisoformat(item["last_modified"])  # the page does new Date(last_modified)
    download = call(
        browser,
        "POST",
        "/system/buckets/dash-photos/presign",
        json={
            "object_key": "incoming/from-link.txt",
            "operation": "download",
            "expires_in": 3600,
            "content_type": "application/octet-stream",
        },
    )
    assert httpx.get(download["url"]).content == b"from a link"
    assert datetime.fromisoformat(download["expires_at"]).tzinfo is not None

    refused = call(browser, "DELETE", f"/system/buckets/{SERVICE}", 403)
    assert f"service '{SERVICE}'" in refused  # shown in the error toast
    call(browser, "DELETE", "/system/buckets/dash-photos", 204)


def test_status_screen(browser: httpx.Client, service: dict[str, Any]) -> None:
    status = call(browser, "GET", "/system/status")
    cluster = status["cluster"]
    assert cluster["nodes_count"] == len(cluster["nodes"]) == 1
    node = cluster["nodes"][0]
    assert node["cpu"]["capacity_cores"] > 0 and node["memory"]["capacity_bytes"] > 0
    assert {c["type"] for c in node["conditions"]} == {"Ready"}
    for key in ("total_free_cores", "max_free_on_node_cores"):
        assert isinstance(cluster["metrics"]["cpu"][key], int)
    oscar = status["oscar"]
    assert set(oscar["pods"]["states"]) == {"Failed", "Pending", "Running", "Succeeded", "Unknown"}
    assert oscar["deployment"]["replicas"] == 1
    assert oscar["oidc"] == {"enabled": False, "issuers": [], "groups": []}
    assert set(status["minio"]) == {"buckets_count", "total_objects"}
    # The admin's usage graph.
    logs = call(browser, "GET", "/system/logs")["logs"]
    assert logs and all(entry["path"].startswith(("/run/", "/job/")) for entry in logs)


def test_volumes_screen(browser: httpx.Client) -> None:
    call(browser, "POST", "/system/volumes", 201, json={"name": "dash-vol", "size": "2Gi"})
    [volume] = [v for v in call(browser, "GET", "/system/volumes") if v["name"] == "dash-vol"]
    assert (volume["size"], volume["status"]["phase"], volume["creation_mode"]) == (
        "2Gi",
        "ready",
        "api",
    )
    call(browser, "DELETE", "/system/volumes/dash-vol", 204)


def test_metrics_screen(browser: httpx.Client, service: dict[str, Any]) -> None:
    window = {"start": "2020-01-01T00:00:00.000Z", "end": "2100-01-01T00:00:00.000Z"}
    summary = call(browser, "GET", "/system/metrics", params=window)
    assert summary["totals"]["requests_count_total"] >= 2
    assert all(source["status"] == "ok" and "notes" not in source for source in summary["sources"])
    for group in ("user", "country"):
        call(browser, "GET", "/system/metrics/breakdown", params={"group_by": group, **window})
    services = call(
        browser,
        "GET",
        "/system/metrics/breakdown",
        params={"group_by": "service", "include_users": "true", **window},
    )
    assert SERVICE in [item["key"] for item in services["items"]]
    per_service = call(browser, "GET", f"/system/metrics/{SERVICE}", params=window)
    values = {m["metric"]: m["value"] for m in per_service["metrics"]}
    assert values["requests-sync-per-service"] >= 1 and values["requests-async-per-service"] >= 1
