"""Delegation to replicas, as OSCAR's ``DelegateJob``: a job this cluster cannot take goes to
the best replica's ``POST /job/<service>``, with that service's token, as
``{"storage_provider": <this cluster's id>, "event": "<the job's event as a JSON string>"}``
and the headers ``X-Delegated-Job-ID`` / ``X-Delegated-From``. The replica downloads the input
from this cluster's store (``storage_providers.minio.<this cluster's id>`` in its definition).

A job is delegated when the service is marked to always delegate (annotation
``sluice.delegate: always``), when it can never fit here (more CPU or memory than this cluster
has), or when it has waited ``federation.rescheduler_threshold`` seconds for room here. Both
ledgers record it: here the job ends Succeeded with the replica's job id in its log and in
lineage; there the job records where it came from. When no replica
can be reached, the event waits in the outbox and is delivered later (store-and-forward);
when every replica refuses it, the job stays here and runs when there is room, as in OSCAR.
"""

import json
import logging
import threading
import time
from collections.abc import Callable

import httpx

from sluice.core.dispatcher import Room
from sluice.core.forwarding import Forwarder
from sluice.core.services import ServiceManager
from sluice.domain.federation import ALWAYS_DELEGATE, Replica, members, threshold
from sluice.domain.job import Job
from sluice.domain.service import Service, ServiceRecord
from sluice.errors import BackendError, NotFound
from sluice.state.jobs import JobLedger
from sluice.state.lineage import DELEGATED_FROM, DELEGATED_TO, LineageStore
from sluice.state.outbox import Parcel

log = logging.getLogger(__name__)

JOB_ID_HEADER = "X-Delegated-Job-ID"
FROM_HEADER = "X-Delegated-From"
ANSWER_JOB_HEADER = "X-Sluice-Job"  # the ids of the jobs /job made (Sluice answers them)
TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class Unreachable(BackendError):
    """No answer from the replica's cluster: the event is kept for later."""


class Delegator:
    def __init__(
        self,
        ledger: JobLedger,
        services: ServiceManager,
        forwarder: Forwarder,
        lineage: LineageStore,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._ledger = ledger
        self._services = services
        self._forwarder = forwarder
        self._lineage = lineage
        self._transport = transport
        self._tokens: dict[tuple[str, str], str] = {}
        self._refused: set[str] = set()  # jobs every replica refused: they stay here
        self._lock = threading.Lock()
        forwarder.add_deliverer("delegate", self._deliver)

    # -- the dispatcher's hook -----------------------------------------------------------------

    def overflow(self, record: ServiceRecord, jobs: list[Job], room: Room) -> list[Job]:
        """The jobs that stay here; the others went to a replica (or wait to go). A job that
        can never fit here goes at once, as OSCAR's resource manager sends it."""
        service = record.service
        replicas = members(service.federation)
        at_once = service.annotations.get(ALWAYS_DELEGATE) == "always" or room == "never"
        if not replicas or not jobs or not (at_once or room == "full"):
            return jobs
        wait, now = threshold(service.federation), time.time()
        kept = []
        for job in jobs:
            due = at_once or now - job.created_at.timestamp() >= wait
            if not (due and job.id not in self._refused and self._delegate(service, replicas, job)):
                kept.append(job)
        return kept

    def _delegate(self, service: Service, replicas: list[Replica], job: Job) -> bool:
        if not self._ledger.claim(job.id):
            return True  # no longer waiting: not ours to run or send
        body = delegated_body(service, self._ledger.load(job.id))
        refusals = []
        for replica in replicas:
            cluster = service.clusters[replica.cluster_id]
            if self._forwarder.outbox.holds(cluster.endpoint):
                break  # that cluster is away: queue behind what waits for it
            try:
                remote = self._send(service, replica, job.id, body)
            except Unreachable as exc:
                log.warning("cannot reach %s for job %s: %s", replica.cluster_id, job.id, exc)
                continue
            except BackendError as exc:
                refusals.append(f"{replica.cluster_id}: {exc}")
                continue
            self._sent(service, replica, job.id, remote)
            return True
        if refusals and len(refusals) == len(replicas):
            log.warning("every replica refused job %s; it runs here: %s", job.id, refusals)
            self._refused.add(job.id)
            self._ledger.requeue(job.id, 0, "every replica refused it; runs here")
            return False
        best = replicas[0]
        endpoint = service.clusters[best.cluster_id].endpoint
        self._forwarder.outbox.add(
            "delegate", service.name, best.cluster_id, endpoint, job_id=job.id, body=body
        )
        self._forwarder.wake()
        self._sent(service, best, job.id, "", queued=True)
        return True

    def _sent(
        self, service: Service, replica: Replica, job_id: str, remote: str, queued: bool = False
    ) -> None:
        how = "queued for" if queued else "delegated to"
        note = f"{how} cluster {replica.cluster_id!r}, service {replica.service_name!r}"
        note += f" as job {remote}" if remote else ""
        self._ledger.succeed(job_id, 0, f"{note}\n")
        self._lineage.add(
            job_id, service.name, DELEGATED_TO, peer=replica.cluster_id, peer_job=remote
        )
        log.info("job %s %s", job_id, note)

    def _deliver(self, parcel: Parcel) -> None:
        """A delegated event that waited in the outbox (raises while the cluster is away)."""
        try:
            service = self._services.get(parcel.service).service
        except NotFound:
            raise BackendError(f"service {parcel.service!r} was deleted") from None
        for replica in members(service.federation):
            if replica.cluster_id == parcel.target:
                remote = self._send(service, replica, parcel.job_id, parcel.body or b"")
                self._lineage.add(
                    parcel.job_id, service.name, DELEGATED_TO, peer=parcel.target, peer_job=remote
                )
                return
        raise BackendError(f"cluster {parcel.target!r} is no longer a replica")

    # -- talking to the replica's cluster ------------------------------------------------------

    def _send(self, service: Service, replica: Replica, job_id: str, body: bytes) -> str:
        """POST the event to the replica's /job; the id of the job it made ("" if none)."""
        cluster = service.clusters[replica.cluster_id]
        url = f"{cluster.endpoint.rstrip('/')}/job/{replica.service_name}"
        headers = {**replica.headers, JOB_ID_HEADER: job_id, FROM_HEADER: service.cluster_id}
        for fresh in (False, True):
            token = self._token(service, replica, fresh)
            answer = self._post(
                url, body, {**headers, "Authorization": f"Bearer {token}"}, cluster.ssl_verify
            )
            if answer.status_code == 401 and not fresh:
                continue  # the replica was recreated: a new token, once
            if answer.status_code not in (200, 201):
                raise BackendError(f"/job/{replica.service_name} answered {answer.status_code}")
            return str(answer.headers.get(ANSWER_JOB_HEADER, ""))
        raise BackendError("the replica refused its own token")

    def _token(self, service: Service, replica: Replica, fresh: bool) -> str:
        """The replica service's token, read with the cluster's credentials (and cached)."""
        cluster = service.clusters[replica.cluster_id]
        key = (cluster.endpoint, replica.service_name)
        with self._lock:
            if not fresh and key in self._tokens:
                return self._tokens[key]
        url = f"{cluster.endpoint.rstrip('/')}/system/services/{replica.service_name}"
        auth = httpx.BasicAuth(cluster.auth_user, cluster.auth_password)
        answer = self._get(url, auth, cluster.ssl_verify)
        if answer.status_code != 200:
            raise BackendError(
                f"cluster {replica.cluster_id!r} answered {answer.status_code} for service "
                f"{replica.service_name!r}"
            )
        token = str(answer.json().get("token") or "")
        with self._lock:
            self._tokens[key] = token
        return token

    def _post(self, url: str, body: bytes, headers: dict[str, str], verify: bool) -> httpx.Response:
        return self._call(lambda c: c.post(url, content=body, headers=headers), verify)

    def _get(self, url: str, auth: httpx.Auth, verify: bool) -> httpx.Response:
        return self._call(lambda c: c.get(url, auth=auth), verify)

    def _call(
        self, request: Callable[[httpx.Client], httpx.Response], verify: bool
    ) -> httpx.Response:
        try:
            with httpx.Client(timeout=TIMEOUT, verify=verify, transport=self._transport) as client:
                return request(client)
        except httpx.TransportError as exc:
            raise Unreachable(type(exc).__name__) from None

    # -- the replica's side --------------------------------------------------------------------

    def received(self, service: str, job_ids: list[str], origin: str, origin_job: str) -> None:
        """Jobs made here for another cluster's delegated job: where they came from."""
        for job_id in job_ids:
            self._lineage.add(job_id, service, DELEGATED_FROM, peer=origin, peer_job=origin_job)


def delegated_body(service: Service, job: Job) -> bytes:
    """OSCAR's delegated event: this cluster's id (the replica reads the input from
    ``storage_providers.minio.<id>``) and the original event as a JSON string."""
    if job.payload_file is not None:
        event = job.payload_file.read_text(errors="replace")
    elif job.payload:
        event = job.payload.decode(errors="replace")
    else:
        event = ""
    if job.source is not None and not event:
        source = job.source
        obj = {"key": source.key, "eTag": source.etag}
        record = {
            "eventSource": "minio:s3",
            "s3": {"bucket": {"name": source.bucket}, "object": obj},
        }
        event = json.dumps({"Records": [record]})
    return json.dumps({"storage_provider": service.cluster_id, "event": event}).encode()
