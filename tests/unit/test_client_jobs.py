"""``sluice.client``: Sluice's job details, retries and async job ids, against MockTransport."""

import httpx
import pytest
from tests.unit.test_client import TOKEN, Recorder, answer

from sluice.client import ClientError


def detail(name: str, **extra: object) -> dict[str, object]:
    return {"name": name, "status": "Failed", "attempts": 1, "max_attempts": 1, **extra}


def test_job_details_follows_next_page() -> None:
    pages = {
        "": {"jobs": [detail("a")], "next_page": "p2", "remaining_jobs": 1},
        "p2": {"jobs": [detail("b", exit_code=4)], "next_page": ""},
    }
    rec = Recorder(lambda r: httpx.Response(200, json=pages[r.url.params["page"]]))
    jobs = rec.client().job_details("svc")
    assert [job["name"] for job in jobs] == ["a", "b"]
    assert jobs[1]["exit_code"] == 4
    assert rec.calls == [("GET", "/system/jobs/svc?page="), ("GET", "/system/jobs/svc?page=p2")]


def test_job_details_dead_letters_only() -> None:
    rec = Recorder(answer(body={"jobs": [], "next_page": ""}))
    assert rec.client().job_details("s v", dead=True) == []
    assert rec.calls == [("GET", "/system/jobs/s%20v?dead=true&page=")]


def test_job_details_null_jobs_is_empty() -> None:
    assert Recorder(answer(body={"jobs": None})).client().job_details("s") == []


def test_job_details_rejects_a_map() -> None:
    rec = Recorder(answer(body={"jobs": {"a": {}}, "next_page": ""}))
    with pytest.raises(ClientError, match="did not answer with a list of jobs"):
        rec.client().job_details("s")


def test_job_details_stops_when_a_page_repeats() -> None:
    rec = Recorder(answer(body={"jobs": [], "next_page": "again"}))
    rec.client().job_details("s")
    assert len(rec.requests) == 2


def test_retry_job_posts_and_returns_the_detail() -> None:
    rec = Recorder(answer(body=detail("job-1", status="Pending", attempts=0)))
    assert rec.client().retry_job("svc", "job-1")["status"] == "Pending"
    assert rec.calls == [("POST", "/system/jobs/svc/job-1/retry")]


@pytest.mark.parametrize(("status", "text"), [(400, "not a dead letter"), (404, "no such job")])
def test_retry_job_errors(status: int, text: str) -> None:
    with pytest.raises(ClientError) as caught:
        Recorder(answer(status, text=text)).client().retry_job("svc", "job-1")
    assert caught.value.status_code == status
    assert caught.value.detail == text


def test_invoke_job_returns_the_sluice_job_header() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"name": "s", "token": TOKEN})
        return httpx.Response(201, headers={"X-Sluice-Job": "job-42"})

    rec = Recorder(handler)
    assert rec.client().invoke_job("s", b"aGk=") == "job-42"
    assert rec.requests[1].headers["authorization"] == f"Bearer {TOKEN}"
    assert rec.requests[1].content == b"aGk="


def test_invoke_job_without_the_header_is_an_empty_id() -> None:
    assert Recorder(answer(201)).client(token="t").invoke_job("s", b"x") == ""
