"""The execution log: OSCAR's line format, and calls kept in order through batched writes."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sluice.core.execution_log import ExecutionLog, go_duration, invocation, log_line
from sluice.state.database import open_database
from sluice.state.executions import Execution, ExecutionStore


def make_log(tmp_path: Path, started: datetime) -> tuple[ExecutionLog, ExecutionStore]:
    store = ExecutionStore(open_database(f"sqlite:///{tmp_path / 'state.db'}"))
    return ExecutionLog(store, timedelta(days=30), started), store


def test_only_invocations_are_recorded_and_reads_see_them_at_once(tmp_path: Path) -> None:
    log, store = make_log(tmp_path, datetime.now(UTC) - timedelta(seconds=1))
    for path in ("/run/a", "/job/b", "/system/services", "/run/a/extra", "/health"):
        log.record(method="POST", path=path, status=200, latency=0.01, client_ip="", user="u")
    log.record(method="GET", path="/run/a", status=405, latency=0.0, client_ip="", user="u")
    assert [(e.path, e.kind, e.service) for e in log.entries()] == [
        ("/run/a", "sync", "a"),
        ("/job/b", "async", "b"),
    ]
    log.close()
    assert len(store.between(datetime.fromtimestamp(0, UTC), datetime.now(UTC))) == 2


def test_previous_run_entries_are_apart(tmp_path: Path) -> None:
    started = datetime.now(UTC)
    log, store = make_log(tmp_path, started)
    old = Execution(started - timedelta(hours=1), "a", "sync", 200, 0.1, "", "POST", "/run/a", "u")
    store.add([old])
    log.record(method="POST", path="/job/a", status=201, latency=0.1, client_ip="", user="u")
    assert [e.path for e in log.entries(previous=True)] == ["/run/a"]
    assert [e.path for e in log.entries()] == ["/job/a"]
    log.close()


def test_oscar_line_format() -> None:
    entry = Execution(
        datetime(2025, 10, 28, 16, 53, 34, tzinfo=UTC),
        "simple-test",
        "sync",
        200,
        0.347805334,
        "172.25.0.1",
        "POST",
        "/run/simple-test",
        "oscar",
    )
    assert log_line(entry) == (
        "[GIN-EXECUTIONS-LOGGER] 2025-10-28T16:53:34Z | 200 |  347.805334ms | 172.25.0.1 | "
        "POST    /run/simple-test | oscar"
    )
    assert [go_duration(s) for s in (1.5, 0.00095, 0, 62.5, 3600)] == [
        "1.5s",
        "950µs",
        "0s",
        "1m2.5s",
        "1h0m0s",
    ]
    assert invocation("POST", "/job/x") == ("async", "x")
    assert invocation("POST", "/job/") is None
