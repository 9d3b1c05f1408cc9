"""A handler service's replica without a cluster: the job container's loop (``JOB_LOOP``, run
by a real /bin/sh here) starts the warm worker under a real Python, and the supervisor's
``HandlerReplica`` talks to it over the socket in the shared folder."""

from pathlib import Path

import pytest

from sluice.domain.job import Job
from sluice.domain.parts import MinIOProvider
from sluice.domain.service import Service
from sluice.execution.kubernetes.pod import HandlerReplica
from sluice.execution.kubernetes.pod_workers import HandoffWorkerHost
from sluice.storage.resolver import StorageResolver
from sluice.supervisor.task import JobTask
from tests.e2e.helpers import wait_for

HANDLERS = Path(__file__).parents[1] / "images" / "py-handler" / "handlers"


def handler_service(**fields: object) -> Service:
    return Service.model_validate(
        {
            "name": "upper",
            "image": "localhost/sluice/py-handler:latest",
            "cpu": "0.5",
            "memory": "256Mi",
            "handler": "model:handle",
            "init": "model:load",
            "pythonpath": [str(HANDLERS)],  # in the image, the image's PYTHONPATH does this
            "environment": {"variables": {"GREETING": "hello"}},
            **fields,
        }
    )


@pytest.fixture
def shared(loop: Path) -> Path:
    """The pod's shared folder, with the job container's loop running on it."""
    return loop.parent


def replica(shared: Path, service: Service) -> HandlerReplica:
    storage = StorageResolver(MinIOProvider(endpoint="http://127.0.0.1:9", verify=False))
    host = HandoffWorkerHost(shared, shared / "handoff")
    made = HandlerReplica(service, "token", storage, shared / "work", 65536, 30, host=host)
    wait_for(made.ready, 60, "the worker to start")
    return made


def test_one_warm_worker_answers_calls_and_batches_of_file_jobs(shared: Path) -> None:
    made = replica(shared, handler_service())
    try:
        first = made.run(b"one", 20)
        second = made.run(b"two", 20)
        assert first.status == second.status == 200, (first, second)
        assert b"ONE" in first.body and b"loads=1" in first.body and b"greeting=hello" in first.body
        assert b"loads=1" in second.body  # init ran once: the same warm worker
        worker = first.body.split(b"worker=")[1].split()[0]
        jobs = [Job.running(f"job-{n}", "upper", None, f"file {n}".encode()) for n in range(3)]
        tasks = [JobTask(job, handler_service(), "token", 20) for job in jobs]
        reports = made.jobs(tasks)
        assert [report.succeeded for report in reports] == [True, True, True], reports
        assert all("Ran handler model:handle" in report.log for report in reports)
        assert worker in made.run(b"three", 20).body
    finally:
        made.close()


def test_a_call_past_its_timeout_kills_the_worker_and_the_next_call_gets_a_new_one(
    shared: Path,
) -> None:
    made = replica(shared, handler_service())
    try:
        before = made.run(b"a", 20).body.split(b"worker=")[1].split()[0]
        slow = made.run(b"sleep 30", 1)
        assert slow.status == 504 and b"timed out after 1 s" in slow.body
        after = made.run(b"b", 20)
        assert after.status == 200, after
        assert after.body.split(b"worker=")[1].split()[0] != before
        assert not (Path("/proc") / before.decode()).exists()  # killed, across "containers"
    finally:
        made.close()


def test_a_handler_that_does_not_import_is_ready_and_says_why(shared: Path) -> None:
    made = replica(shared, handler_service(handler="model:missing"))
    try:
        answer = made.run(b"x", 20)
        assert answer.status == 500 and b"missing" in answer.body, answer
    finally:
        made.close()
