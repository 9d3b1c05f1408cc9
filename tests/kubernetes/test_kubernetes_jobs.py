"""File jobs as Kubernetes Jobs and synchronous services as Deployments, on the real test
cluster: outputs land, failures are retried by Sluice and dead-lettered, the memory limit is
reported, ``/run`` is answered by a Deployment, deleting a service removes its objects, and a
manager restart mid-batch leaves exactly one Job and one output per file."""

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import keys_under, s3_client, wait_for
from tests.kubernetes.conftest import BUSYBOX, kubernetes_sluice
from tests.sluice_process import SluiceProcess


@pytest.fixture(scope="module")
def s3(http: httpx.Client) -> Any:
    return s3_client(http)


def create(http: httpx.Client, name: str, script: str, **fields: Any) -> None:
    body = {
        "name": name,
        "image": BUSYBOX,
        "memory": "64Mi",
        "cpu": "0.1",
        "script": script,
        "input": [{"storage_provider": "minio.default", "path": f"{name}/in"}],
        "output": [{"storage_provider": "minio.default", "path": f"{name}/out"}],
        **fields,
    }
    answer = http.post("/system/services", json=body)
    assert answer.status_code == 201, answer.text


def details(http: httpx.Client, service: str) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = http.get(f"/system/jobs/{service}").json()["jobs"]
    return jobs


def ended(http: httpx.Client, service: str, count: int = 1) -> list[dict[str, Any]]:
    """The service's jobs once ``count`` have ended for good (succeeded or dead letters)."""

    def probe() -> list[dict[str, Any]] | None:
        jobs = details(http, service)
        done = [job for job in jobs if job["status"] == "Succeeded" or job["dead_letter"]]
        return done if len(done) >= count else None

    result: list[dict[str, Any]] = wait_for(probe, 180, f"{count} ended job(s) of {service}")
    return result


UPPER = 'tr a-z A-Z < "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/$(basename "$INPUT_FILE_PATH")"'


def test_an_upload_runs_one_job_whose_output_lands(
    http: httpx.Client, s3: Any, kube: Any, namespace: str
) -> None:
    create(http, "upper", UPPER + '\necho "ran in $(hostname)"')
    s3.put_object(Bucket="upper", Key="in/hello.txt", Body=b"hello kubernetes\n")
    [job] = ended(http, "upper")
    assert job["status"] == "Succeeded", http.get(f"/system/logs/upper/{job['name']}").text
    assert keys_under(s3, "upper", "out/") == ["out/hello.txt"]
    body = s3.get_object(Bucket="upper", Key="out/hello.txt")["Body"].read()
    assert body == b"HELLO KUBERNETES\n"
    log = http.get(f"/system/logs/upper/{job['name']}").text
    assert "ran in sluice-" in log  # the pod's host name: the Job's pod ran it


def test_a_running_jobs_log_is_live(http: httpx.Client, s3: Any) -> None:
    create(http, "chatty", "echo started; sleep 30; echo done")
    s3.put_object(Bucket="chatty", Key="in/x.txt", Body=b"x")

    def live() -> str | None:
        jobs = details(http, "chatty")
        if not jobs or jobs[0]["status"] != "Running":
            return None
        text = http.get(f"/system/logs/chatty/{jobs[0]['name']}").text
        return text if "started" in text else None

    assert "done" not in wait_for(live, 120, "the running job's live log")
    assert http.delete("/system/services/chatty").status_code == 204


def test_a_failing_job_is_retried_by_sluice_then_dead_lettered(
    http: httpx.Client, s3: Any, kube: Any, namespace: str
) -> None:
    create(http, "fails", "echo attempt; exit 3")
    s3.put_object(Bucket="fails", Key="in/x.txt", Body=b"x")
    [job] = ended(http, "fails")
    assert job["status"] == "Failed" and job["dead_letter"]
    assert job["exit_code"] == 3 and job["reason"] == "exit code 3"
    # backoffLimit 0: Kubernetes never retries; Sluice's ledger made every attempt.
    assert job["attempts"] == job["max_attempts"] == 3
    assert "attempt" in http.get(f"/system/logs/fails/{job['name']}").text
    _, batch, _ = kube
    leftovers = batch.list_namespaced_job(namespace, label_selector="oscar_service=fails").items
    assert leftovers == []


def test_the_memory_limit_kill_is_reported(http: httpx.Client, s3: Any) -> None:
    create(
        http,
        "hungry",
        "dd if=/dev/zero of=/dev/null bs=200M count=1",
        memory="32Mi",
    )
    s3.put_object(Bucket="hungry", Key="in/x.txt", Body=b"x")
    [job] = ended(http, "hungry")
    assert job["status"] == "Failed"
    assert "out of memory" in job["reason"] and "32Mi" in job["reason"], job
    assert "out of memory" in http.get(f"/system/logs/hungry/{job['name']}").text


def test_a_sync_service_answers_run_from_a_deployment(
    http: httpx.Client, kube: Any, namespace: str
) -> None:
    create(http, "echo", 'printf "got: "; cat "$INPUT_FILE_PATH"')
    answer = http.post("/run/echo", content=b'{"say": "ping"}', timeout=120)
    assert answer.status_code == 200, answer.text
    assert 'got: {"say": "ping"}' in answer.text
    _, _, apps = kube
    [deployment] = apps.list_namespaced_deployment(
        namespace, label_selector="oscar_service=echo"
    ).items
    assert deployment.status.ready_replicas == 1

    def scaled_to_zero() -> bool:
        scale = apps.read_namespaced_deployment_scale(deployment.metadata.name, namespace)
        return not scale.spec.replicas  # 0 is left out of the answer

    # min_scale 0: idle for SLUICE_WORKER_IDLE_TIMEOUT (5 s here), it goes down to zero.
    wait_for(scaled_to_zero, 120, "the idle Deployment scaled to zero")
    again = http.post("/run/echo", content=b'{"say": "again"}', timeout=120)
    assert again.status_code == 200 and 'got: {"say": "again"}' in again.text


def test_deleting_a_service_removes_its_kubernetes_objects(
    http: httpx.Client, s3: Any, kube: Any, namespace: str
) -> None:
    create(http, "doomed", "sleep 60")
    s3.put_object(Bucket="doomed", Key="in/x.txt", Body=b"x")
    core, batch, apps = kube
    selector = "oscar_service=doomed"
    wait_for(
        lambda: batch.list_namespaced_job(namespace, label_selector=selector).items,
        what="the Job of doomed",
    )
    with contextlib.suppress(httpx.TimeoutException):  # makes its Deployment (the call hangs)
        http.post("/run/doomed", content=b"{}", timeout=3)
    wait_for(
        lambda: apps.list_namespaced_deployment(namespace, label_selector=selector).items,
        what="the Deployment of doomed",
    )
    assert http.delete("/system/services/doomed").status_code == 204

    def gone() -> bool:
        return not any(
            (
                batch.list_namespaced_job(namespace, label_selector=selector).items,
                apps.list_namespaced_deployment(namespace, label_selector=selector).items,
                core.list_namespaced_service(namespace, label_selector=selector).items,
                core.list_namespaced_secret(namespace, label_selector=selector).items,
                [
                    pod
                    for pod in core.list_namespaced_pod(namespace, label_selector=selector).items
                    if pod.metadata.deletion_timestamp is None
                ],
            )
        )

    wait_for(gone, 120, "doomed's Jobs, Deployment, Service, Secrets and pods to go")


@pytest.fixture
def job_names(kube: Any) -> Iterator[dict[str, set[tuple[str, str]]]]:
    """Every Job created in the restart test's namespace: job id → {(Job name, uid)}."""
    from kubernetes import watch

    _, batch, _ = kube
    seen: dict[str, set[tuple[str, str]]] = {}
    stop = threading.Event()
    w = watch.Watch()

    def record() -> None:
        while not stop.is_set():
            for event in w.stream(batch.list_namespaced_job, "t-restart", timeout_seconds=5):
                job = event["object"]
                job_id = (job.metadata.annotations or {}).get("sluice.job-id", "")
                seen.setdefault(job_id, set()).add((job.metadata.name, job.metadata.uid))

    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    yield seen
    stop.set()
    w.stop()


def test_a_manager_restart_mid_batch_leaves_one_job_and_one_output_per_file(
    tmp_path: Path, cluster: Path, job_names: dict[str, set[tuple[str, str]]]
) -> None:
    files = [f"f{i}.txt" for i in range(4)]
    server = kubernetes_sluice(tmp_path / "data", cluster, "t-restart").start()
    try:
        with server.client() as http:
            create(http, "batch", "sleep 4\n" + UPPER)
            s3 = s3_client(http)
            for name in files:
                s3.put_object(Bucket="batch", Key=f"in/{name}", Body=name.encode())
            wait_for(
                lambda: sum(1 for uids in job_names.values() if uids) >= 2,
                what="Jobs of the batch running",
            )
        server.kill()  # mid-batch: Jobs keep running in the cluster
        restarted = SluiceProcess(
            data_dir=server.data_dir, port=server.port, s3_port=server.s3_port, env=server.env
        )
        restarted.start()
        server = restarted
        with server.client() as http:
            jobs = ended(http, "batch", len(files))
            assert {job["status"] for job in jobs} == {"Succeeded"}
            s3 = s3_client(http)
            assert sorted(keys_under(s3, "batch", "out/")) == [f"out/{n}" for n in files]
            attempts = {job["name"]: job["attempts"] for job in details(http, "batch")}
        # The restarted manager attached to the Jobs still running: one Job per attempt (an
        # attempt never ran twice), and one attempt per job unless one really failed.
        assert set(job_names) == set(attempts)
        for job_id, made in job_names.items():
            names = {name for name, _ in made}
            assert len(made) == len(names) == attempts[job_id], (job_id, made)
    finally:
        server.stop()


def test_status_reports_the_clusters_nodes(http: httpx.Client) -> None:
    status = http.get("/system/status").json()
    [node] = status["cluster"]["nodes"]
    assert node["name"] == "sluice-node1" and node["status"] == "Ready"
    assert node["cpu"]["capacity_cores"] == 2000  # the node's allocatable, in millicores
    assert status["cluster"]["nodes_count"] == 1


def test_a_jobs_pod_has_no_route_off_the_machine(http: httpx.Client, s3: Any) -> None:
    """The pod network routes only its own subnet (testbeds.md §0): no default route. Read from
    the pod's routing table, without sending anything."""
    create(http, "routes", 'cat /proc/net/route > "$TMP_OUTPUT_DIR/routes.txt"')
    s3.put_object(Bucket="routes", Key="in/x.txt", Body=b"x")
    [job] = ended(http, "routes")
    assert job["status"] == "Succeeded"
    table = s3.get_object(Bucket="routes", Key="out/routes.txt")["Body"].read().decode()
    destinations = [line.split()[1] for line in table.splitlines()[1:] if line.strip()]
    assert destinations and "00000000" not in destinations, table


def test_an_image_not_on_the_node_is_never_pulled(http: httpx.Client, s3: Any) -> None:
    """``imagePullPolicy: Never``: the attempt fails with the kubelet's reason, no pull."""
    create(http, "no-image", "true", image="localhost/sluice/not-built:1")
    s3.put_object(Bucket="no-image", Key="in/x.txt", Body=b"x")
    [job] = ended(http, "no-image")
    assert job["status"] == "Failed" and "ErrImageNeverPull" in job["reason"], job
