"""The UI's read-models and its session store, without a server."""

from pathlib import Path

from sluice.api.auth import Sessions
from sluice.core.ui_views import job_counts, workflow_graph
from sluice.domain.service import Service
from sluice.state.database import open_database
from sluice.state.jobs import JobLedger


class FakeLedger:
    def service_counts(self, service: str) -> tuple[dict[str, int], int]:
        assert service == "s"
        return {"Succeeded": 1500, "Running": 3, "Failed": 2}, 1


def test_job_counts_name_every_state() -> None:
    counts = job_counts(FakeLedger(), "s")
    assert counts["states"] == {"Pending": 0, "Running": 3, "Succeeded": 1500, "Failed": 2}
    assert counts["dead"] == 1
    assert counts["total"] == 1505


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


def test_the_ledger_counts_shown_jobs_of_one_service(tmp_path: Path) -> None:
    ledger = JobLedger(open_database(f"sqlite:///{tmp_path / 'ledger.db'}"))
    made = [ledger.enqueue("s", payload=b"x") for _ in range(4)]
    ids = [job.id for job in made if job is not None]
    ledger.enqueue("other", payload=b"x")
    for job_id in ids[:3]:
        assert ledger.claim(job_id)
    ledger.succeed(ids[0], 0, "")
    ledger.succeed(ids[1], 0, "")
    ledger.fail(ids[2], 1, "broke", "", retry_in=None)  # a dead letter
    ledger.hide("s", ids[0])
    by_status, dead = ledger.service_counts("s")
    assert by_status == {"Succeeded": 1, "Failed": 1, "Pending": 1}
    assert dead == 1
    assert ledger.service_counts("nobody") == ({}, 0)
