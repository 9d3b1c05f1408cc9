"""Services on a Kubernetes cluster: each file job's attempt of a script service is a
``batch/v1`` Job; each synchronous service a Deployment (scaled between ``min_scale`` and
``max_scale``, to zero when idle) answering ``/run``. One watch of the pods says when a Job's
pod ends; the report is the last line of its supervisor container's log. A Job outlives the
manager: after a restart the ledger hands the job out again and ``start`` finds the Job of
that attempt instead of creating another.

A handler service is only a Deployment: each replica keeps a warm worker (the model loaded
once), answers ``/run`` and takes batches of file jobs (``POST /jobs``), so a file job does
not wait for a pod to start and load the model.
"""

import contextlib
import hashlib
import http.client
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from sluice.capacity import too_big
from sluice.domain.job import Job
from sluice.domain.parts import MinIOProvider
from sluice.domain.quantity import format_memory
from sluice.domain.results import JobReport, SyncResult
from sluice.domain.service import Service, ServiceRecord
from sluice.errors import BackendError, Invalid
from sluice.execution.base import BatchPolicy, InFlight, Reports, Slot, Workers
from sluice.execution.kubernetes import manifests as m
from sluice.execution.kubernetes.capacity import ClusterCapacity
from sluice.execution.local import LocalExecution
from sluice.supervisor.body import Body
from sluice.supervisor.task import JobTask

log = logging.getLogger(__name__)

JOBS_SELECTOR = f"{m.KIND_LABEL}=job,app.kubernetes.io/managed-by=sluice"
START_ERRORS = frozenset(
    {
        "ErrImageNeverPull",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)
# A replica's Secret is made just after its Deployment: a pod may wait for it for a moment.
REPLICA_START_ERRORS = START_ERRORS - {"CreateContainerConfigError"}
WATCH_SECONDS = 60  # each watch call's server-side timeout (then it is renewed)
IDLE_LOOK = 2.0  # seconds between looks for idle synchronous services
BATCH_THREADS = 64  # handler services' batches in flight, all services together
STAGING_MARGIN = 120.0  # seconds a replica may take beyond the timeout to stage a batch


class KubernetesExecution:
    """A Job's attempt, ended by the executor's watch (or ``cancel``)."""

    def __init__(
        self,
        job: Job,
        service: Service,
        name: str,
        slot: Slot,
        on_cancel: Callable[[], None],
        read_log: Callable[[str], str | None] = lambda _name: None,
    ) -> None:
        self.job = job
        self.service = service
        self.name = name
        self._slot = slot
        self._on_cancel = on_cancel
        self._read_log = read_log
        self._future: Future[Reports] = Future()
        self._lock = threading.Lock()

    @property
    def job_ids(self) -> list[str]:
        return [self.job.id]

    def finish(self, report: JobReport) -> bool:
        """End it with ``report``; False when it had already ended."""
        with self._lock:
            if self._future.done():
                return False
            self._slot.release()
            self._future.set_result([report])
        return True

    @property
    def done(self) -> bool:
        return self._future.done()

    def wait(self, timeout: float | None = None) -> Reports | None:
        try:
            return self._future.result(timeout)
        except FutureTimeout:
            return None

    def add_done_callback(self, callback: Callable[[Reports], None]) -> None:
        self._future.add_done_callback(lambda future: callback(future.result()))

    def cancel(self) -> None:
        if self.finish(JobReport(False, None, "cancelled")):
            self._on_cancel()

    def live_log(self, job_id: str) -> str | None:
        """The script's output so far: its pod's supervisor copies it to its own log."""
        return None if self.done else self._read_log(self.name)


class KubernetesExecutor:
    name = "kubernetes"

    def __init__(
        self,
        api: Any,
        capacity: ClusterCapacity,
        job_store: MinIOProvider,
        *,
        namespace: str,
        supervisor_image: str,
        pull: str,
        log_cap: int,
        default_timeout: float,
        idle_timeout: float,
    ) -> None:
        """``api``: an ``ApiClient`` of the official client; ``job_store``: Sluice's object
        store as the pods reach it."""
        from kubernetes import client

        self._core = client.CoreV1Api(api)
        self._batch = client.BatchV1Api(api)
        self._apps = client.AppsV1Api(api)
        self._capacity = capacity
        self._capacity_overhead = capacity.overhead
        self._store = job_store
        self._namespace = namespace
        self._image = supervisor_image
        self._pull = pull
        self._log_cap = log_cap
        self._default_timeout = default_timeout
        self._idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._running: dict[str, KubernetesExecution] = {}  # Job name → execution
        self._calls: dict[str, int] = {}  # service → calls in flight
        self._last_call: dict[str, float] = {}
        self._next: dict[str, int] = {}  # round robin over replicas
        self._floors: dict[str, int] = {}  # service → min_scale
        self._batches = InFlight()  # handler services' batches
        self._threads = ThreadPoolExecutor(BATCH_THREADS, thread_name_prefix="k8s-batch")
        self._sync_lock = threading.Lock()
        self._stopping = threading.Event()
        self._detached = False
        self._ensure_namespace()
        self._watcher = threading.Thread(target=self._watch, name="k8s-watch", daemon=True)
        self._watcher.start()
        self._idler = threading.Thread(target=self._scale_idle, name="k8s-idle", daemon=True)
        self._idler.start()

    # -- the Executor protocol -------------------------------------------------------------

    def check(self, service: Service) -> list[str]:
        if not service.image:
            raise Invalid("image: the kubernetes runtime runs every service in its image")
        if service.handler and service.pythonpath:
            raise Invalid(
                "pythonpath: the kubernetes runtime's pods cannot see this machine's folders; "
                "put the handler's code in the image (and on its PYTHONPATH)"
            )
        return []

    def service_changed(self, old: Service | None, new: Service | None) -> None:
        if old is not None and (new is None or new != old):
            self._delete_sync(old.name)
        if new is None and old is not None:
            self._delete_jobs(old.name)
        # A Deployment is made by the first /run (it needs the service's token, which the
        # record has); from then on it keeps min_scale replicas.

    def batching(self, service: Service) -> BatchPolicy:
        if service.handler:
            return BatchPolicy(service.batch_size, service.batch_wait_ms / 1000)
        return BatchPolicy()

    def reserve(self, service: Service) -> Slot | None:
        reason = too_big(service, self._capacity)
        if reason is not None:
            raise Invalid(reason.replace("this machine has", "the cluster's largest node has"))
        if service.handler:
            return self._reserve_batch(service)
        return self._capacity.try_acquire(service.cpu_cores, service.memory_bytes)

    def _reserve_batch(self, service: Service) -> Slot | None:
        """A handler service's batches in flight are capped by its replicas (``max_scale``,
        or as many as the cluster could hold); the replicas hold the cluster's capacity."""
        limit = service.synchronous.max_scale or max(
            1, int(self._capacity.total_cpu // service.cpu_cores)
        )
        return self._batches.take(service.name, limit)

    def why_waiting(self, service: Service) -> str:
        capacity = self._capacity
        cpu, memory = self._capacity_overhead
        needs = (service.cpu_cores + cpu, service.memory_bytes + memory)
        if needs[0] <= capacity.free_cpu and needs[1] <= capacity.free_memory:
            return ""
        return (
            f"waiting for capacity: each job needs {service.cpu} CPU and {service.memory}; "
            f"free in the cluster now: {capacity.free_cpu:g} CPU and "
            f"{format_memory(capacity.free_memory)}"
        )

    def start(
        self, slot: Slot, record: ServiceRecord, jobs: list[Job]
    ) -> "KubernetesExecution | LocalExecution":
        if record.service.handler:
            timeout = record.service.timeout or self._default_timeout

            def work(_cancel: threading.Event) -> Reports:
                return self._run_batch(record, jobs, timeout)

            return LocalExecution.submit(self._threads, work, slot, [job.id for job in jobs])
        [job] = jobs
        service = record.service
        name = m.job_name(job)
        execution = KubernetesExecution(
            job, service, name, slot, lambda: self._delete_job(name), self._live_log
        )
        with self._lock:
            self._running[name] = execution
        try:
            self._create_job(job, record, name)
        except Exception:
            with self._lock:
                self._running.pop(name, None)
            raise
        # The watch may have seen the pod before the execution was registered: look once.
        for pod in self._core.list_namespaced_pod(
            self._namespace, label_selector=f"job-name={name}"
        ).items:
            self._on_pod(pod, deleted=False)
        log.info("job %s of %s runs as Job %s", job.id, service.name, name)
        return execution

    def invoke(self, record: ServiceRecord, body: Body, timeout: float) -> SyncResult:
        service = record.service
        deadline = time.monotonic() + timeout
        with self._busy(record) as inputs:
            try:
                address = self._ready_replica(service, inputs, deadline)
            except ReplicaCannotStart as exc:
                return SyncResult(502, f"{exc}\n".encode())
            if address is None:
                message = f"service {service.name!r} had no ready replica within {timeout:g} s\n"
                return SyncResult(504, message.encode())
            data = body.read_bytes() if isinstance(body, Path) else body
            return self._call(address, data, max(0.1, deadline - time.monotonic()), timeout)

    @contextlib.contextmanager
    def _busy(self, record: ServiceRecord) -> Iterator[str]:
        """Counts a call or batch in flight while it lasts, with the Deployment scaled to
        ``min(max(in flight, min_scale, 1), max_scale)`` replicas first; gives the hash of
        the Deployment's inputs (its pods' label)."""
        service = record.service
        with self._lock:
            self._floors[service.name] = service.synchronous.min_scale
            self._calls[service.name] = self._calls.get(service.name, 0) + 1
            busy = self._calls[service.name]
            self._last_call[service.name] = time.monotonic()
        try:
            limit = max(1, service.synchronous.max_scale or busy)
            wanted = min(max(busy, service.synchronous.min_scale, 1), limit)
            yield self._ensure_sync(service, record.token, wanted)
        finally:
            with self._lock:
                self._calls[service.name] -= 1
                self._last_call[service.name] = time.monotonic()

    def _run_batch(self, record: ServiceRecord, jobs: list[Job], timeout: float) -> Reports:
        """A batch of a handler service's file jobs, run by one of its replicas."""
        service = record.service

        def failed(reason: str) -> Reports:
            return [JobReport(False, None, reason, reason + "\n") for _ in jobs]

        with self._busy(record) as inputs:
            # A replica starting (the model loading) is not the batch's fault: wait long.
            patience = time.monotonic() + timeout + STAGING_MARGIN
            try:
                address = self._ready_replica(service, inputs, patience)
            except ReplicaCannotStart as exc:
                return failed(str(exc))
            if address is None:
                return failed(f"service {service.name!r} had no ready replica")
            tasks = [JobTask(job, service, record.token, timeout).to_json() for job in jobs]
            data = json.dumps({"jobs": tasks}).encode()
            answer = self._post(address, "/jobs", data, timeout + STAGING_MARGIN)
        if answer is None:
            return failed(f"the replica at {address} did not answer within {timeout:g} s")
        if isinstance(answer, str):
            return failed(answer)
        status, content = answer
        try:
            reports = json.loads(content)["reports"] if status == 200 else None
            if not isinstance(reports, list) or len(reports) != len(jobs):
                raise ValueError(content[-2000:].decode(errors="replace"))
            return [_report(item) for item in reports]
        except (ValueError, KeyError, TypeError) as exc:
            return failed(f"the replica at {address} answered {status}: {exc}")

    def workers(self, service: Service) -> Workers | None:
        return None

    def detach(self) -> None:
        """The manager stops: leave the Jobs running (the next start finds them), so the
        cancels that follow only end the handles."""
        self._detached = True

    def close(self) -> None:
        self._detached = True
        self._stopping.set()
        self._threads.shutdown(wait=False, cancel_futures=True)

    # -- Jobs --------------------------------------------------------------------------

    def _ensure_namespace(self) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self._core.read_namespace(self._namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise BackendError(f"kubernetes: cannot read namespace: {exc.reason}") from exc
            body = {"metadata": {"name": self._namespace, "labels": dict(m.MANAGED)}}
            try:
                self._core.create_namespace(body)
            except ApiException as again:
                if again.status != 409:
                    raise

    def _create_job(self, job: Job, record: ServiceRecord, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        service = record.service
        timeout = service.timeout or self._default_timeout
        manifest = m.job_manifest(
            job,
            service,
            self._namespace,
            timeout=timeout,
            supervisor_image=self._image,
            pull=self._pull,
            log_cap=self._log_cap,
        )
        try:
            created = self._batch.create_namespaced_job(self._namespace, manifest)
        except ApiException as exc:
            if exc.status != 409:
                raise BackendError(f"kubernetes: cannot create Job {name}: {exc.reason}") from exc
            # Started before a restart: attach to it (its Secret is made below if the last
            # manager stopped before making it).
            created = self._batch.read_namespaced_job(name, self._namespace)
            log.info("job %s: Job %s was already running; attached to it", job.id, name)
        owner = m.owner_reference("Job", "batch/v1", name, created.metadata.uid)
        task = JobTask(job, service, record.token, timeout)
        files = {"task.json": task.to_json(), "store.json": self._store.model_dump()}
        labels = dict(manifest["metadata"]["labels"])
        secret = m.secret_manifest(name, self._namespace, labels, files, owner)
        try:
            self._core.create_namespaced_secret(self._namespace, secret)
        except ApiException as exc:
            if exc.status != 409:
                self._delete_job(name)
                raise BackendError(
                    f"kubernetes: cannot create Secret {name}: {exc.reason}"
                ) from exc

    def _delete_job(self, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        if self._detached:
            return
        try:
            self._batch.delete_namespaced_job(
                name, self._namespace, propagation_policy="Background"
            )
        except ApiException as exc:
            if exc.status != 404:
                log.warning("cannot delete Job %s: %s", name, exc.reason)

    def _delete_jobs(self, service: str) -> None:
        selector = f"{m.SERVICE_LABEL}={service},{JOBS_SELECTOR}"
        try:
            self._batch.delete_collection_namespaced_job(
                self._namespace, label_selector=selector, propagation_policy="Background"
            )
            self._core.delete_collection_namespaced_secret(self._namespace, label_selector=selector)
        except Exception as exc:
            log.warning("cannot delete the Jobs of %s: %s", service, exc)

    def _watch(self) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        version: str | None = None
        while not self._stopping.is_set():
            try:
                if version is None:
                    listing = self._core.list_namespaced_pod(
                        self._namespace, label_selector=JOBS_SELECTOR
                    )
                    for pod in listing.items:
                        self._on_pod(pod, deleted=False)
                    version = listing.metadata.resource_version
                stream = watch.Watch().stream(
                    self._core.list_namespaced_pod,
                    self._namespace,
                    label_selector=JOBS_SELECTOR,
                    resource_version=version,
                    timeout_seconds=WATCH_SECONDS,
                )
                for event in stream:
                    pod = event["object"]
                    version = pod.metadata.resource_version
                    self._on_pod(pod, deleted=event["type"] == "DELETED")
                    if self._stopping.is_set():
                        return
            except ApiException as exc:
                if exc.status == 410:  # too old: list again
                    version = None
                    continue
                log.warning("kubernetes watch: %s; watching again", exc.reason)
                self._stopping.wait(1.0)
            except Exception as exc:
                log.warning("kubernetes watch failed (%s); watching again", exc)
                version = None
                self._stopping.wait(1.0)

    def _on_pod(self, pod: Any, deleted: bool) -> None:
        labels = pod.metadata.labels or {}
        name = labels.get("job-name", "")
        with self._lock:
            execution = self._running.get(name)
        if execution is None or execution.done:
            return
        report = self._outcome(pod, deleted, execution)
        if report is None:
            return
        with self._lock:
            self._running.pop(name, None)
        if execution.finish(report):
            self._delete_job(name)

    def _outcome(self, pod: Any, deleted: bool, execution: KubernetesExecution) -> JobReport | None:
        """The report once the pod has ended (or can never run), else None."""
        status = pod.status
        containers = {c.name: c for c in (status.container_statuses or [])}
        supervisor, job = containers.get("supervisor"), containers.get("job")
        reason = _cannot_start(pod)
        if reason:
            return JobReport(False, None, reason, reason + "\n")
        if supervisor is not None and supervisor.state.terminated is not None:
            return self._read_report(pod, supervisor.state.terminated, job)
        if job is not None and job.state.terminated is not None and job.state.terminated.exit_code:
            ended = job.state.terminated
            if ended.reason == "OOMKilled":
                limit = format_memory(execution.service.memory_bytes)
                reason = f"killed: exceeded the memory limit of {limit} (out of memory)"
            else:
                reason = f"the job container ended: exit code {ended.exit_code} ({ended.reason})"
            return JobReport(False, ended.exit_code, reason, reason + "\n")
        if deleted or status.phase == "Failed":
            why = status.reason or ("deleted" if deleted else "failed")
            reason = f"the job's pod ended before its supervisor did: {why} {status.message or ''}"
            return JobReport(False, None, reason.strip(), reason.strip() + "\n")
        return None

    def _live_log(self, name: str) -> str | None:
        try:
            pods = self._core.list_namespaced_pod(
                self._namespace, label_selector=f"job-name={name}"
            ).items
            if not pods:
                return None
            answer = self._core.read_namespaced_pod_log(
                pods[0].metadata.name,
                self._namespace,
                container="supervisor",
                _preload_content=False,
            )
            return str(answer.data.decode(errors="replace")) or None
        except Exception:  # not started yet, or gone: nothing to show
            return None

    def _read_report(self, pod: Any, ended: Any, job: Any) -> JobReport:
        try:
            # Raw bytes: the client would parse a log that is one JSON document into a dict.
            answer = self._core.read_namespaced_pod_log(
                pod.metadata.name, self._namespace, container="supervisor", _preload_content=False
            )
            text = answer.data.decode(errors="replace")
        except Exception as exc:
            text = ""
            log.warning("cannot read the log of %s: %s", pod.metadata.name, exc)
        lines = [line for line in text.splitlines() if line.strip()]
        if lines:
            try:
                return _report(json.loads(lines[-1]))
            except (ValueError, KeyError, TypeError):
                pass
        reason = (
            f"the supervisor ended without a report: exit code {ended.exit_code} ({ended.reason})"
        )
        return JobReport(False, None, reason, text + "\n" + reason + "\n")

    # -- synchronous services ------------------------------------------------------------

    def _sync_files(self, service: Service, token: str) -> dict[str, Any]:
        return {
            "service.json": {"service": service.model_dump(mode="json"), "token": token},
            "store.json": self._store.model_dump(),
        }

    def _sync_inputs(self, service: Service, token: str) -> str:
        made = [self._sync_files(service, token), self._image, self._pull, self._log_cap]
        text = json.dumps([*made, self._default_timeout], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def _ensure_sync(self, service: Service, token: str, replicas: int) -> str:
        """The Deployment of ``service`` with at least ``replicas``, made (or replaced, when
        it was made from other inputs) if need be; the hash of its inputs."""
        inputs = self._sync_inputs(service, token)
        current = self._read_sync(service)
        if _inputs_of(current) != inputs:
            with self._sync_lock:  # one replacement at a time, not one per call that saw it
                current = self._read_sync(service)
                if _inputs_of(current) != inputs:
                    if current is not None:
                        log.info(
                            "Deployment %s was made from other inputs: replacing it", service.name
                        )
                        self._delete_sync(service.name)
                    self._create_sync(service, token, replicas, inputs)
                    return inputs
        if (current.spec.replicas or 0) < replicas:
            body = {"spec": {"replicas": replicas}}
            self._apps.patch_namespaced_deployment_scale(
                current.metadata.name, self._namespace, body
            )
        return inputs

    def _read_sync(self, service: Service) -> Any:
        from kubernetes.client.exceptions import ApiException

        name = m.sync_name(service)
        try:
            return self._apps.read_namespaced_deployment(name, self._namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise BackendError(
                    f"kubernetes: cannot read Deployment {name}: {exc.reason}"
                ) from exc
            return None

    def _create_sync(self, service: Service, token: str, replicas: int, inputs: str) -> None:
        from kubernetes.client.exceptions import ApiException

        name = m.sync_name(service)
        labels = m.service_labels(service, "sync")
        deployment = m.deployment_manifest(
            service,
            self._namespace,
            replicas,
            supervisor_image=self._image,
            pull=self._pull,
            log_cap=self._log_cap,
            default_timeout=self._default_timeout,
            inputs=inputs,
        )
        try:
            created = self._apps.create_namespaced_deployment(self._namespace, deployment)
        except ApiException as exc:
            if exc.status == 409:
                return
            raise BackendError(
                f"kubernetes: cannot create Deployment {name}: {exc.reason}"
            ) from exc
        owner = m.owner_reference("Deployment", "apps/v1", name, created.metadata.uid)
        files = self._sync_files(service, token)
        secret_name = m.sync_secret_name(service, inputs)
        secret = m.secret_manifest(secret_name, self._namespace, labels, files, owner)
        for create, body in (
            (self._core.create_namespaced_secret, secret),
            (self._core.create_namespaced_service, m.service_manifest(service, self._namespace)),
        ):
            try:
                create(self._namespace, body)
            except ApiException as exc:
                if exc.status != 409:
                    raise BackendError(f"kubernetes: cannot create {name}: {exc.reason}") from exc

    def _ready_replica(self, service: Service, inputs: str, deadline: float) -> str | None:
        """A Ready replica's pod address (round robin) of the Deployment made from
        ``inputs``, waiting for one by watching the service's pods until ``deadline``; None if
        none was Ready by then. Raises ``ReplicaCannotStart`` when no replica can ever start
        (its image is not there, say) and none is Ready."""
        from kubernetes import watch

        labels = {**m.service_labels(service, "sync"), m.INPUTS_LABEL: inputs}
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        listing = self._core.list_namespaced_pod(self._namespace, label_selector=selector)
        pods = {pod.metadata.name: pod for pod in listing.items}
        version = listing.metadata.resource_version
        while True:
            ready = sorted(_address(pod) for pod in pods.values() if _address(pod))
            if ready:
                with self._lock:
                    turn = self._next.get(service.name, 0)
                    self._next[service.name] = turn + 1
                return ready[turn % len(ready)]
            reasons = [
                reason
                for pod in pods.values()
                if (reason := _cannot_start(pod, REPLICA_START_ERRORS))
            ]
            if reasons:
                raise ReplicaCannotStart(f"service {service.name!r}: {reasons[0]}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            stream = watch.Watch().stream(
                self._core.list_namespaced_pod,
                self._namespace,
                label_selector=selector,
                resource_version=version,
                timeout_seconds=max(1, math.ceil(remaining)),
            )
            for event in stream:
                pod = event["object"]
                version = pod.metadata.resource_version
                if event["type"] == "DELETED":
                    pods.pop(pod.metadata.name, None)
                else:
                    pods[pod.metadata.name] = pod
                stuck = _cannot_start(pod, REPLICA_START_ERRORS)
                if _address(pod) or stuck or time.monotonic() > deadline:
                    break

    def _call(self, address: str, data: bytes, timeout: float, limit: float) -> SyncResult:
        answer = self._post(address, "/run", data, timeout)
        if answer is None:
            return SyncResult(504, f"the service did not answer within {limit:g} s\n".encode())
        if isinstance(answer, str):
            return SyncResult(502, f"{answer}\n".encode())
        return SyncResult(*answer)

    def _post(
        self, address: str, path: str, data: bytes, timeout: float
    ) -> tuple[int, bytes] | str | None:
        """A replica's status and body; None when it took longer than ``timeout`` (plus a
        margin), or why it could not be asked."""
        from sluice.execution.kubernetes.pod import TIMEOUT_HEADER

        connection = http.client.HTTPConnection(address, m.SUPERVISOR_PORT, timeout=timeout + 5)
        try:
            headers = {TIMEOUT_HEADER: f"{timeout:.3f}", "Content-Type": "application/octet-stream"}
            connection.request("POST", path, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except TimeoutError:
            return None
        except OSError as exc:
            return f"the service's replica at {address} failed: {exc}"
        finally:
            connection.close()

    def _delete_sync(self, service: str) -> None:
        from kubernetes.client.exceptions import ApiException

        selector = f"{m.SERVICE_LABEL}={service},{m.KIND_LABEL}=sync"
        try:
            self._apps.delete_collection_namespaced_deployment(
                self._namespace, label_selector=selector, propagation_policy="Background"
            )
            for item in self._core.list_namespaced_service(
                self._namespace, label_selector=selector
            ).items:
                self._core.delete_namespaced_service(item.metadata.name, self._namespace)
            self._core.delete_collection_namespaced_secret(self._namespace, label_selector=selector)
        except ApiException as exc:
            log.warning("cannot delete the Deployment of %s: %s", service, exc.reason)

    def _scale_idle(self) -> None:
        """Synchronous services idle for ``idle_timeout`` go down to ``min_scale`` (zero)."""
        while not self._stopping.wait(IDLE_LOOK):
            now = time.monotonic()
            with self._lock:
                idle = [
                    name
                    for name, at in self._last_call.items()
                    if not self._calls.get(name) and now - at > self._idle_timeout
                ]
                for name in idle:
                    self._last_call.pop(name, None)
            for name in idle:
                floor = self._floors.get(name, 0)
                try:
                    body = {"spec": {"replicas": floor}}
                    self._apps.patch_namespaced_deployment_scale(
                        f"{name}-sync", self._namespace, body
                    )
                    log.info("synchronous service %s idle: scaled to %d", name, floor)
                except Exception as exc:
                    log.debug("cannot scale %s down: %s", name, exc)


def _inputs_of(deployment: Any) -> str | None:
    """The hash of the inputs a Deployment was made from (None: there is none)."""
    if deployment is None:
        return None
    return (deployment.metadata.annotations or {}).get(m.INPUTS_LABEL)


def _report(data: Any) -> JobReport:
    report = JobReport(bool(data["succeeded"]), data.get("exit_code"), str(data.get("reason", "")))
    report.log = str(data.get("log", ""))
    return report


class ReplicaCannotStart(BackendError):
    """No replica of a service can start (the kubelet says why), and none is Ready."""


def _cannot_start(pod: Any, errors: frozenset[str] = START_ERRORS) -> str:
    """Why the pod's containers can never start as they are (an image not on the node, a bad
    reference, a missing Secret...), or ""."""
    for container in pod.status.container_statuses or []:
        waiting = container.state.waiting if container.state is not None else None
        if waiting is not None and waiting.reason in errors:
            return f"cannot start the pod: {waiting.reason}: {waiting.message or ''}".strip()
    return ""


def _address(pod: Any) -> str:
    """A pod's address if it is Ready and not going away, else ""."""
    status = pod.status
    if not status.pod_ip or pod.metadata.deletion_timestamp is not None:
        return ""
    ready = any(c.type == "Ready" and c.status == "True" for c in status.conditions or [])
    return str(status.pod_ip) if ready else ""
