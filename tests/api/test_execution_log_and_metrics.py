"""Issue 13: OSCAR's execution log (GET /system/logs) and metrics, from Sluice's own records."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from oscar_python.client import Client
from tests.e2e.helpers import s3_client, statuses, wait_for

LINE = re.compile(
    r"^\[GIN-EXECUTIONS-LOGGER\] \d{4}-\d\d-\d\dT[\d:.]+Z \| (\d{3}) \| +[\d.]+(ns|µs|ms|s) \| "
    r"[\d.]+ \| POST +(/\S+) \| (\S+)$"
)


@pytest.fixture(scope="module")
def activity(http: httpx.Client) -> dict[str, Any]:
    """Two /run calls, one refused /run, one /job call and one upload, all to `counted`."""
    body = {
        "name": "counted",
        "cpu": "0.5",
        "script": 'cat "$INPUT_FILE_PATH" > /dev/null',
        "input": [{"path": "counted/in"}],
    }
    assert http.post("/system/services", json=body).status_code == 201
    token = http.get("/system/services/counted").json()["token"]
    run = f"{http.base_url}/run/counted"
    for _ in range(2):
        answer = httpx.post(run, content=b"aGk=", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
    assert (
        httpx.post(run, content=b"x", headers={"Authorization": "Bearer wrong"}).status_code == 401
    )
    assert http.post("/job/counted", content=b"aGk=").status_code == 201
    s3_client(http).put_object(Bucket="counted", Key="in/file.txt", Body=b"data")
    wait_for(lambda: statuses(http, "counted") == ["Succeeded", "Succeeded"], what="two jobs")
    return {"token": token}


def test_every_call_is_in_the_execution_log(
    oscar: Client, http: httpx.Client, activity: dict[str, Any]
) -> None:
    logs = oscar.get_system_logs().json()["logs"]
    seen = [(e["method"], e["path"], e["status"], e["user"]) for e in logs]
    assert seen == [
        ("POST", "/run/counted", 200, "oscar"),
        ("POST", "/run/counted", 200, "oscar"),
        ("POST", "/run/counted", 401, "oscar"),
        ("POST", "/job/counted", 201, "oscar"),
        ("POST", "/job/counted", 201, "seaweedfs"),  # the upload, as OSCAR logs MinIO's call
    ]
    for entry in logs:
        match = LINE.match(entry["raw"])
        assert match, entry["raw"]
        assert (int(match.group(1)), match.group(3), match.group(4)) == (
            entry["status"],
            entry["path"],
            entry["user"],
        )
        assert entry["client_ip"] == "127.0.0.1"
        assert datetime.fromisoformat(entry["timestamp"]).tzinfo is not None
    assert http.get("/system/logs/").json()["logs"] == logs
    # Nothing was logged before this manager started; health checks and reads never are.
    assert http.get("/system/logs", params={"previous": "true"}).json() == {"logs": []}


def test_summary_counts_requests_and_cpu_hours(oscar: Client, activity: dict[str, Any]) -> None:
    summary = oscar.get_metrics_summary().json()
    totals = summary["totals"]
    assert totals["requests_count_sync"] == 3
    assert totals["requests_count_async"] == 2  # the /job call and the upload: two jobs
    assert totals["requests_count_total"] == 5
    assert totals["requests_count_exposed"] == 0
    assert totals["services_count_active"] == 1
    assert totals["services_count_total"] == 1
    assert totals["users"] == ["oscar", "seaweedfs"] and totals["users_count"] == 2
    assert (totals["jobs_succeeded"], totals["jobs_failed"]) == (2, 0)
    assert 0 < totals["cpu_hours_total"] < 0.01
    assert totals["gpu_hours_total"] == 0
    assert {source["name"] for source in summary["sources"]} == {
        "usage-metrics",
        "request-logs",
        "exposed-request-logs",
    }
    end = datetime.fromisoformat(summary["end"])
    assert end - datetime.fromisoformat(summary["start"]) == timedelta(hours=24)


def test_a_range_before_anything_happened_is_empty(
    http: httpx.Client, activity: dict[str, Any]
) -> None:
    end = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    params = {"end": end.isoformat().replace("+00:00", "Z")}
    totals = http.get("/system/metrics", params=params).json()["totals"]
    assert (totals["requests_count_total"], totals["cpu_hours_total"]) == (0, 0)


def test_per_service_metrics(oscar: Client, http: httpx.Client, activity: dict[str, Any]) -> None:
    values = {m["metric"]: m for m in oscar.get_service_metrics("counted").json()["metrics"]}
    assert list(values) == [
        "cpu-hours",
        "gpu-hours",
        "requests-sync-per-service",
        "requests-async-per-service",
        "requests-exposed-per-service",
        "users-per-service",
    ]
    assert values["requests-sync-per-service"]["value"] == 3
    assert values["requests-async-per-service"]["value"] == 2
    assert values["users-per-service"]["value"] == 2
    assert values["cpu-hours"]["unit"] == "hours" and values["cpu-hours"]["value"] > 0
    one = http.get("/system/metrics/counted", params={"metric": "requests-async-per-service"})
    assert one.json()["service_id"] == "counted" and one.json()["value"] == 2


def test_breakdowns(oscar: Client, http: httpx.Client, activity: dict[str, Any]) -> None:
    by_service = oscar.get_metrics_breakdown().json()
    assert by_service["group_by"] == "service"
    [item] = by_service["items"]
    assert (item["key"], item["requests_count_sync"], item["requests_count_async"]) == (
        "counted",
        3,
        2,
    )
    assert "users" not in item
    with_users = http.get("/system/metrics/breakdown?group_by=service&include_users=true").json()
    assert with_users["items"][0]["users"] == ["oscar", "seaweedfs"]
    by_user = http.get("/system/metrics/breakdown?group_by=user").json()["items"]
    assert {(i["key"], i["executions_count"]) for i in by_user} == {("oscar", 4), ("seaweedfs", 1)}
    assert http.get("/system/metrics/breakdown?group_by=country").json()["items"] == []

    csv = http.get("/system/metrics/breakdown", params={"group_by": "service", "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines() == [
        "key,membership,requests_count_total,requests_count_sync,requests_count_async,"
        "requests_count_exposed,unique_users_count,countries",
        "counted,,5,3,2,0,2,",
    ]


BAD_QUERIES = [
    ("/system/metrics?start=yesterday", "invalid start timestamp"),
    ("/system/metrics?end=2025-13-01T00:00:00Z", "invalid end timestamp"),
    ("/system/metrics?start=2025-01-02T00:00:00Z&end=2025-01-01T00:00:00Z", "end must be after"),
    ("/system/metrics/counted?metric=cpu", "invalid metric key"),
    ("/system/metrics/counted?metric=countries-list", "unsupported metric for value query"),
    ("/system/metrics/breakdown", "group_by is required"),
    ("/system/metrics/breakdown?group_by=planet", "unsupported group_by"),
    ("/system/metrics/breakdown?group_by=user&format=xml", "invalid format"),
    ("/system/metrics/breakdown?group_by=service&format=csv&include_users=true", "not supported"),
]


@pytest.mark.parametrize(("path", "error"), BAD_QUERIES)
def test_bad_queries_are_400_with_a_json_error(http: httpx.Client, path: str, error: str) -> None:
    answer = http.get(path)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert error in answer.json()["error"]
