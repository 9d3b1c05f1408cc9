"""The UI's read-models and its session store, without a server."""

from datetime import UTC, datetime

from sluice.api.auth import Sessions
from sluice.core.ui_views import job_counts, workflow_graph
from sluice.domain.job import Job, JobStatus
from sluice.domain.service import Service
from sluice.state.jobs import JobPage


def _job(number: int, status: JobStatus, dead: bool = False) -> Job:
    return Job(
        id=f"j{number}",
        service="s",
        status=status,
        source=None,
        payload=None,
        attempts=1,
        max_attempts=3,
        created_at=datetime.now(UTC),
        started_at=None,
        finished_at=None,
        exit_code=None,
        reason="",
        dead=dead,
    )


class FakePages:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.asked: list[str] = []

    def page(self, service: str, page: str = "", size: int = 70, dead: bool = False) -> JobPage:
        self.asked.append(page)
        start = int(page or 0)
        chunk = self.jobs[start : start + size]
        remaining = max(0, len(self.jobs) - start - len(chunk))
        return JobPage(chunk, str(start + len(chunk)) if remaining else "", remaining)


def test_job_counts_read_every_page() -> None:
    statuses = [JobStatus.SUCCEEDED] * 1500 + [JobStatus.RUNNING] * 3 + [JobStatus.PENDING]
    jobs = [_job(i, s) for i, s in enumerate(statuses)] + [_job(9999, JobStatus.FAILED, True)]
    counts = job_counts(FakePages(jobs), "s")
    assert counts["states"] == {"Pending": 1, "Running": 3, "Succeeded": 1500, "Failed": 1}
    assert counts["dead"] == 1
    assert counts["total"] == 1505
    assert not counts["capped"]


def test_job_counts_stop_at_the_cap_and_say_so() -> None:
    pages = FakePages([_job(i, JobStatus.SUCCEEDED) for i in range(3000)])
    counts = job_counts(pages, "s", cap=1000)
    assert counts["total"] == 1000 and counts["capped"]
    assert pages.asked == [""]


def _service(name: str, inputs: list[str], outputs: list[str]) -> Service:
    return Service.model_validate(
        {
            "name": name,
            "script": "true",
            "input": [{"path": p} for p in inputs],
            "output": [{"path": p} for p in outputs],
        }
    )


def test_workflow_graph_draws_the_chain_in_columns() -> None:
    services = [
        _service("c", ["bbb/out"], []),
        _service("a", ["aaa/in"], ["aaa/out"]),
        _service("b", ["aaa/out"], ["bbb/out"]),
        _service("lone", ["xxx/in"], []),
    ]
    zero = {"states": {"Succeeded": 0}}
    graph = workflow_graph(services, lambda _name: zero)
    edges = {(e["from"], e["to"], e["path"]) for e in graph["edges"]}
    assert edges == {("a", "b", "aaa/out"), ("b", "c", "bbb/out")}
    assert graph["depth"] == {"a": 0, "b": 1, "c": 2, "lone": 0}


def test_a_session_lasts_its_lifetime_then_is_gone() -> None:
    now = [1000.0]
    sessions = Sessions(lifetime=60, clock=lambda: now[0])
    key, session = sessions.open("oscar")
    assert sessions.get(key) == session
    assert session.csrf and session.csrf != key
    now[0] += 61
    assert sessions.get(key) is None


def test_closing_a_session_ends_it() -> None:
    sessions = Sessions()
    key, _ = sessions.open("oscar")
    sessions.close(key)
    assert sessions.get(key) is None
    assert sessions.get("never-issued") is None
