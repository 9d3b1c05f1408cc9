"""The hostile inputs of issue 12, one row each: every one answers its 4xx with a message that
names the field, and leaves what is stored (services, tokens, the job ledger) as it was; the
whole service list still answers afterwards. FDL files, read by the CLI, have a table too."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sluice.domain.job import JobStatus
from sluice.fdl import FdlError, load_fdl
from sluice.server.platform import Platform
from tests.hardening.conftest import ADMIN, service_body
from tests.inprocess.conftest import wait_status


@dataclass(frozen=True)
class Row:
    id: str
    method: str
    path: str
    status: int
    names: str  # the field the answer must name
    body: Any = None  # JSON, written with NaN/Infinity and \ud800 escapes as Python writes them
    params: dict[str, str] = field(default_factory=dict)
    token: bool = False  # call with the service's token instead of the admin's credentials
    raw: str = ""  # the body as text, for what Python cannot write as JSON


def event(obj: dict[str, Any] | None = None, **record: Any) -> dict[str, Any]:
    """A MinIO ObjectCreated notification for echo/in/a.txt, with fields replaced."""
    base: dict[str, Any] = {
        "eventSource": "minio:s3",
        "eventName": "s3:ObjectCreated:Put",
        "eventTime": "2026-11-22T10:00:00.000Z",
        "s3": {
            "bucket": {"name": "echo"},
            "object": {"key": "in%2Fa.txt", "size": 5, "eTag": "abc", **(obj or {})},
        },
    }
    return {"Records": [{**base, **record}]}


def job(obj: dict[str, Any] | None = None, **record: Any) -> dict[str, Any]:
    return {"method": "POST", "path": "/job/echo", "body": event(obj, **record), "token": True}


def service(**fields: Any) -> dict[str, Any]:
    return {"method": "POST", "path": "/system/services", "body": service_body("bad", **fields)}


def update(**fields: Any) -> dict[str, Any]:
    return {"method": "PUT", "path": "/system/services", "body": service_body("echo", **fields)}


def env(name: str = "A", value: str = "x") -> dict[str, Any]:
    return {"environment": {"variables": {name: value}}}


DEEP: Any = 1
for _ in range(100):
    DEEP = [DEEP]

ROWS = [
    # Query parameters
    Row("logs page=²", "GET", "/system/logs/echo", 400, "page", params={"page": "²"}),
    Row("logs page=1e23", "GET", "/system/logs/echo", 400, "page", params={"page": "1e23"}),
    Row(
        "logs page=10^23", "GET", "/system/logs/echo", 400, "page", params={"page": "1" + "0" * 23}
    ),
    Row("jobs page=²", "GET", "/system/jobs/echo", 400, "page", params={"page": "²"}),
    Row("jobs page=-1", "GET", "/system/jobs/echo", 400, "page", params={"page": "-1"}),
    Row("jobs dead=maybe", "GET", "/system/jobs/echo", 400, "dead", params={"dead": "maybe"}),
    Row("delete all=maybe", "DELETE", "/system/logs/echo", 400, "all", params={"all": "maybe"}),
    Row(
        "metrics end in year 1",
        "GET",
        "/system/metrics/echo",
        400,
        "end",
        params={"metric": "cpu-hours", "end": "0001-01-01T00:00:00Z"},
    ),
    Row(
        "metrics start before year 1",
        "GET",
        "/system/metrics",
        400,
        "start",
        params={"start": "0001-01-01T00:00:00+01:00"},
    ),
    # /job S3/MinIO event records
    Row("event size 'abc'", status=400, names="s3.object.size", **job({"size": "abc"})),
    Row("event size [1]", status=400, names="s3.object.size", **job({"size": [1]})),
    Row("event size 1e400", status=400, names="s3.object.size", **job({"size": float("inf")})),
    Row("event size NaN", status=400, names="s3.object.size", **job({"size": float("nan")})),
    Row("event size -5", status=400, names="s3.object.size", **job({"size": -5})),
    Row("event size 1.5", status=400, names="s3.object.size", **job({"size": 1.5})),
    Row("event size true", status=400, names="s3.object.size", **job({"size": True})),
    Row("event size 2^64", status=400, names="s3.object.size", **job({"size": 2**64})),
    Row("event key a list", status=400, names="s3.object.key", **job({"key": ["a"]})),
    Row("event key surrogate", status=400, names="s3.object.key", **job({"key": "in/\ud800"})),
    Row("event key %00", status=400, names="s3.object.key", **job({"key": "in%2Fa%00b"})),
    Row("event key %ED%A0%80", status=400, names="s3.object.key", **job({"key": "in%ED%A0%80"})),
    Row("event key 2 KiB", status=400, names="s3.object.key", **job({"key": "k" * 2048})),
    Row("event eTag a list", status=400, names="s3.object.eTag", **job({"eTag": [1]})),
    Row("event eventName list", status=400, names="eventName", **job(eventName=["x"])),
    Row("event eventTime 5", status=400, names="eventTime", **job(eventTime=5)),
    Row("event eventTime bad", status=400, names="eventTime", **job(eventTime="2026-99-99")),
    Row("event bucket a string", status=400, names="s3.bucket", **job(s3={"bucket": "echo"})),
    Row(
        "event bucket '../x'",
        status=400,
        names="s3.bucket.name",
        **job(s3={"bucket": {"name": "../x"}, "object": {"key": "a"}}),
    ),
    Row(
        "event 1001 records",
        "POST",
        "/job/echo",
        400,
        "Records",
        body={"Records": event()["Records"] * 1001},
        token=True,
    ),
    # Service definitions: names and text
    Row("env name 'A=B'", status=400, names="environment.variables", **service(**env("A=B"))),
    Row("env name NUL", status=400, names="environment.variables", **service(**env("A\0B"))),
    Row("env name '1A'", status=400, names="environment.variables", **service(**env("1A"))),
    Row("env name ''", status=400, names="environment.variables", **service(**env(""))),
    Row("env value NUL", status=400, names="environment.variables", **service(**env(value="\0"))),
    Row(
        "env value surrogate",
        status=400,
        names="environment.variables",
        **service(**env(value="\udc80")),
    ),
    Row(
        "secret name 'A=B'",
        status=400,
        names="environment.secrets",
        **service(environment={"secrets": {"A=B": "s"}}),
    ),
    Row("script surrogate", status=400, names="script", **service(script="echo \ud800")),
    Row("script NUL", status=400, names="script", **service(script="echo \0")),
    Row("script 1 Mi + 1", status=400, names="script", **service(script="#" * (1 << 20) + "x")),
    Row(
        "annotation key surrogate",
        status=400,
        names="annotations",
        **service(annotations={"\ud800": "v"}),
    ),
    Row("label value NUL", status=400, names="labels", **service(labels={"a": "\0"})),
    Row(
        "suffix surrogate",
        status=400,
        names="output.0.suffix",
        **service(output=[{"path": "bad/out", "suffix": ["\ud800"]}]),
    ),
    Row("image NUL", status=400, names="image", **service(image="alpine\0")),
    # Service definitions: numbers
    Row("timeout Infinity", status=400, names="timeout", **service(timeout=float("inf"))),
    Row("timeout NaN", status=400, names="timeout", **service(timeout=float("nan"))),
    Row("timeout 1e300", status=400, names="timeout", **service(timeout=1e300)),
    Row("timeout 0", status=400, names="timeout", **service(timeout=0)),
    Row(
        "timeout 5000 digits",
        "POST",
        "/system/services",
        400,
        "timeout",
        raw=json.dumps(service_body("bad", timeout=0)).replace(
            '"timeout": 0', '"timeout": ' + "9" * 5000
        ),
    ),
    Row("max_attempts 1e20", status=400, names="max_attempts", **service(max_attempts=1e20)),
    Row("max_attempts 10^20", status=400, names="max_attempts", **service(max_attempts=10**20)),
    Row("max_attempts 0", status=400, names="max_attempts", **service(max_attempts=0)),
    Row(
        "min_scale 10^9",
        status=400,
        names="synchronous.min_scale",
        **service(synchronous={"min_scale": 10**9}),
    ),
    Row(
        "max_scale -1",
        status=400,
        names="synchronous.max_scale",
        **service(synchronous={"max_scale": -1}),
    ),
    Row(
        "api_port 70000",
        status=400,
        names="expose.api_port",
        **service(expose={"api_port": [70000]}),
    ),
    Row("nodePort -1", status=400, names="expose.nodePort", **service(expose={"nodePort": -1})),
    Row(
        "cpu_threshold 1000",
        status=400,
        names="expose.cpu_threshold",
        **service(expose={"cpu_threshold": 1000}),
    ),
    Row("batch_size 10^6", status=400, names="batch_size", **service(batch_size=10**6)),
    Row("batch_wait_ms 1e9", status=400, names="batch_wait_ms", **service(batch_wait_ms=10**9)),
    Row("cpu 1e400", status=400, names="cpu", **service(cpu="1e400")),
    Row("memory 10^30 Ei", status=400, names="memory", **service(memory="1" + "0" * 30 + "Ei")),
    Row(
        "federation NaN",
        status=400,
        names="federation.x",
        **service(federation={"x": float("nan")}),
    ),
    # Service definitions: the body itself
    Row(
        "body nested 100 deep",
        "POST",
        "/system/services",
        400,
        "nested",
        body=service_body("bad", federation={"x": DEEP}),
    ),
    Row("body Infinity alone", "POST", "/system/services", 400, "Infinity", body=float("inf")),
    # Updates of a stored service: refused, and the stored one kept as it was
    Row("update timeout Infinity", status=400, names="timeout", **update(timeout=float("inf"))),
    Row(
        "update max_attempts 1e20", status=400, names="max_attempts", **update(max_attempts=10**20)
    ),
    Row("update script surrogate", status=400, names="script", **update(script="echo \udfff")),
    Row("update env name 'A=B'", status=400, names="environment.variables", **update(**env("A=B"))),
]


@pytest.fixture
def stored(api: TestClient, platform: Platform) -> Iterator[str]:
    """A service ``echo`` with one succeeded job; yields its token."""
    assert api.post("/system/services", json=service_body("echo", timeout=60)).status_code == 201
    token = api.get("/system/services/echo").json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.post("/job/echo", content=b"aGVsbG8=", headers=bearer).status_code == 201
    wait_status(platform, "echo", JobStatus.SUCCEEDED, 1)
    yield token


def state(platform: Platform) -> tuple[Any, ...]:
    services = [
        (record.service.model_dump(mode="json"), record.token, record.owner)
        for record in platform.services.list()
    ]
    jobs = [
        (job.id, job.status, job.attempts, job.max_attempts)
        for job in platform.jobs.ledger.page("echo", size=1000).jobs
    ]
    return services, jobs, platform.jobs.ledger.counts()


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_hostile_input_is_refused_and_changes_nothing(
    row: Row, api: TestClient, platform: Platform, stored: str
) -> None:
    before = state(platform)
    auth = None if row.token else ADMIN
    headers = {"Authorization": f"Bearer {stored}"} if row.token else {}
    content = row.raw or (None if row.body is None else json.dumps(row.body))
    answer = api.request(
        row.method, row.path, params=row.params, content=content, headers=headers, auth=auth
    )
    assert answer.status_code == row.status, answer.text
    assert row.names in answer.text, answer.text
    assert state(platform) == before
    listing = api.get("/system/services")
    assert listing.status_code == 200 and [s["name"] for s in listing.json()] == ["echo"]


@pytest.mark.parametrize("tail", ["²", "1" * 5000, "-" + "9" * 40, "\x00"])
def test_lenient_tail_lines_are_read_as_the_default(
    tail: str, api: TestClient, platform: Platform, stored: str
) -> None:
    """``tailLines`` is lenient, as OSCAR's: what is not a number means the default (200)."""
    before = state(platform)
    answer = api.get("/system/services/echo/deployment/logs", params={"tailLines": tail})
    assert answer.status_code == 200, answer.text
    assert state(platform) == before


def test_the_table_covers_the_issue() -> None:
    """Every input named in issue 12's "500s from input" has its row."""
    ids = {row.id for row in ROWS}
    for named in (
        "logs page=²",
        "logs page=1e23",
        "event size 'abc'",
        "event size [1]",
        "event size 1e400",
        "env name 'A=B'",
        "env name NUL",
        "script surrogate",
        "env value surrogate",
        "timeout Infinity",
        "max_attempts 1e20",
    ):
        assert named in ids


# FDL files are read by the CLI: each of these is an FdlError naming file:line, quickly and
# in little memory, instead of a traceback or a hang.
SERVICE = "functions:\n  oscar:\n  - local:\n      name: x\n      script: s.sh\n"
LAUGHS = "\n".join(
    ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
)
FDL_ROWS = [
    # l5 is where the expansion passes 100,000 values (9^6)
    ("billion laughs", LAUGHS + "\n{service}      annotations: *l8\n", 6, "aliases expand"),
    ("recursive anchor", "{service}      federation: &f [*f]\n", 6, "inside its own anchor"),
    (
        "recursive service",
        "functions:\n  oscar:\n  - local: &s\n      name: x\n      script: s.sh\n"
        "      federation: *s\n",
        6,
        "inside its own anchor",
    ),
    ("nested 20000 deep", "{service}      federation: " + "[" * 20000 + "]" * 20000, 6, "nested"),
    ("date 2024-13-45", "{service}      vo: 2024-13-45\n", 6, "month must be in 1..12"),
    ("5000-digit integer", "{service}      timeout: " + "1" * 5000 + "\n", 6, "4300 digits"),
    ("timeout .inf", "{service}      timeout: .inf\n", 6, "not a finite number"),
    ("timeout .nan", "{service}      timeout: .nan\n", 6, "not a finite number"),
    ("script /dev/zero", SERVICE.replace("s.sh", "/dev/zero"), 5, "larger than"),
    ("file over 256 KiB", "{service}      vo: '" + "a" * 300_000 + "'\n", None, "larger than"),
]


@pytest.mark.parametrize(
    ("text", "line", "says"), [r[1:] for r in FDL_ROWS], ids=[r[0] for r in FDL_ROWS]
)
def test_hostile_fdl_is_an_fdl_error_at_its_line(
    tmp_path: Path, text: str, line: int | None, says: str
) -> None:
    (tmp_path / "s.sh").write_text("echo hi\n")
    fdl = tmp_path / "hostile.yaml"
    fdl.write_text(text.replace("{service}", SERVICE))
    with pytest.raises(FdlError) as caught:
        load_fdl(fdl)
    where = f"{fdl}:{line}:" if line else f"{fdl}:"
    assert str(caught.value).startswith(where), caught.value
    assert says in str(caught.value)
