"""Handler services (warm Python workers) on the real test cluster: a Deployment whose
replicas each keep one worker with the model loaded once, answering ``/run`` and batches of
file jobs (no Job per file); a failing handler's file job is retried and dead-lettered; a
worker that crashes is replaced; ``pythonpath`` (this machine's folders) is refused."""

from typing import Any

import httpx
import pytest

from tests.e2e.helpers import s3_client, wait_for
from tests.kubernetes.conftest import PY_HANDLER
from tests.kubernetes.test_kubernetes_jobs import ended


@pytest.fixture(scope="module")
def s3(http: httpx.Client) -> Any:
    return s3_client(http)


def create(http: httpx.Client, name: str, **fields: Any) -> httpx.Response:
    body = {
        "name": name,
        "image": PY_HANDLER,
        "memory": "128Mi",
        "cpu": "0.2",
        "handler": "model:handle",
        "init": "model:load",
        "environment": {"variables": {"GREETING": "from-the-fdl"}},
        "input": [{"storage_provider": "minio.default", "path": f"{name}/in"}],
        "output": [{"storage_provider": "minio.default", "path": f"{name}/out"}],
        **fields,
    }
    return http.post("/system/services", json=body)


def worker_of(answer: httpx.Response) -> str:
    return answer.text.split("worker=")[1].split()[0]


def test_a_warm_replica_answers_run_and_file_jobs_with_the_model_loaded_once(
    http: httpx.Client, s3: Any, kube: Any, namespace: str
) -> None:
    answer = create(http, "warm", batch_size=2, synchronous={"min_scale": 1, "max_scale": 1})
    assert answer.status_code == 201, answer.text
    first = http.post("/run/warm", content=b"hello", timeout=240)
    assert first.status_code == 200, first.text
    assert first.text.startswith("HELLO ") and "loads=1" in first.text
    assert "greeting=from-the-fdl" in first.text
    for n in range(4):
        s3.put_object(Bucket="warm", Key=f"in/f{n}.txt", Body=f"file {n}".encode())
    jobs = ended(http, "warm", 4)
    assert {job["status"] for job in jobs} == {"Succeeded"}, jobs
    for n in range(4):
        body = s3.get_object(Bucket="warm", Key=f"out/f{n}.txt.upper")["Body"].read().decode()
        assert body.startswith(f"FILE {n} ") and "loads=1" in body, body
        # The same warm worker did them all.
        assert body.split("worker=")[1].split()[0] == worker_of(first)
    again = http.post("/run/warm", content=b"again", timeout=60)
    assert again.status_code == 200 and "loads=1" in again.text, again.text
    _, batch, apps = kube
    selector = "oscar_service=warm"
    assert batch.list_namespaced_job(namespace, label_selector=selector).items == []
    [deployment] = apps.list_namespaced_deployment(namespace, label_selector=selector).items
    assert deployment.spec.template.spec.share_process_namespace is True
    log = http.get(f"/system/logs/warm/{jobs[0]['name']}").text
    assert "Ran handler model:handle" in log, log


def test_a_failing_handlers_file_job_is_retried_then_dead_lettered(
    http: httpx.Client, s3: Any
) -> None:
    assert create(http, "fails").status_code == 201
    s3.put_object(Bucket="fails", Key="in/x.txt", Body=b"fail now")
    [job] = ended(http, "fails")
    assert job["status"] == "Failed" and job["dead_letter"], job
    assert job["attempts"] == job["max_attempts"] == 3
    assert "asked to fail" in job["reason"], job
    # An exception fails that invocation only: the worker goes on serving.
    answer = http.post("/run/fails", content=b"still here", timeout=120)
    assert answer.status_code == 200 and "loads=1" in answer.text, answer.text


def test_a_crashed_worker_is_replaced_by_a_new_one(http: httpx.Client) -> None:
    assert create(http, "crashy").status_code == 201
    before = http.post("/run/crashy", content=b"a", timeout=240)
    assert before.status_code == 200, before.text
    crashed = http.post("/run/crashy", content=b"crash", timeout=60)
    assert crashed.status_code == 500 and "exit code 3" in crashed.text, crashed.text

    def answered() -> httpx.Response | None:
        answer = http.post("/run/crashy", content=b"b", timeout=60)
        return answer if answer.status_code == 200 else None

    after = wait_for(answered, 120, "a new worker's answer")
    assert worker_of(after) != worker_of(before) and "loads=1" in after.text


def test_pythonpath_is_refused_with_what_to_do_instead(http: httpx.Client) -> None:
    answer = create(http, "local-code", pythonpath=["/home/me/code"])
    assert answer.status_code == 400, answer.text
    assert "pythonpath" in answer.text and "in the image" in answer.text
    assert http.get("/system/services/local-code").status_code == 404


def test_deleting_a_handler_service_removes_its_deployment(
    http: httpx.Client, kube: Any, namespace: str
) -> None:
    assert create(http, "short-lived").status_code == 201
    assert http.post("/run/short-lived", content=b"x", timeout=240).status_code == 200
    assert http.delete("/system/services/short-lived").status_code == 204
    core, _, apps = kube
    selector = "oscar_service=short-lived"

    def gone() -> bool:
        return not (
            apps.list_namespaced_deployment(namespace, label_selector=selector).items
            or core.list_namespaced_secret(namespace, label_selector=selector).items
        )

    wait_for(gone, 120, "the Deployment and Secret of short-lived to go")


def test_a_deployment_made_from_other_inputs_is_replaced_not_reused(
    http: httpx.Client, kube: Any, namespace: str
) -> None:
    """Such as one left by an earlier manager whose store was elsewhere: its pods would
    stage files from a store that is gone."""
    assert create(http, "renewed").status_code == 201
    assert http.post("/run/renewed", content=b"x", timeout=240).status_code == 200
    _, _, apps = kube
    old = apps.read_namespaced_deployment("renewed-sync", namespace)
    patch = {"metadata": {"annotations": {"sluice.inputs": "from-elsewhere"}}}
    apps.patch_namespaced_deployment("renewed-sync", namespace, patch)
    again = http.post("/run/renewed", content=b"y", timeout=240)
    assert again.status_code == 200, again.text
    new = apps.read_namespaced_deployment("renewed-sync", namespace)
    assert new.metadata.uid != old.metadata.uid


def test_a_replica_that_can_never_start_fails_calls_and_jobs_at_once_saying_why(
    http: httpx.Client, s3: Any
) -> None:
    """An image not on the node (``imagePullPolicy: Never``): the kubelet's reason, at once,
    not a wait for the call's timeout."""
    answer = create(http, "no-image", image="localhost/sluice/not-built:1", timeout=200)
    assert answer.status_code == 201, answer.text
    call = http.post("/run/no-image", content=b"x", timeout=120)
    assert call.status_code == 502 and "ErrImageNeverPull" in call.text, call.text
    s3.put_object(Bucket="no-image", Key="in/x.txt", Body=b"x")
    [job] = ended(http, "no-image")
    assert job["status"] == "Failed" and "ErrImageNeverPull" in job["reason"], job
