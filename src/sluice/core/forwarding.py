"""Store-and-forward: outputs for another cluster's store, and events delegated to another
cluster, wait in the outbox while that cluster cannot be reached, and go out once it can.

Every output upload passes here (the resolver's upload hook), so it is also where lineage learns
which job wrote which object. An upload to a remote store that fails is copied into the outbox
folder and recorded in the ledger's database before the job is reported done: the job succeeds,
and its output is delivered later, once, in the order it came. While anything for a store
waits, new uploads to it queue behind it.
"""

import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from sluice.core.services import ServiceManager
from sluice.domain.parts import DEFAULT_PROVIDER, MinIOProvider
from sluice.domain.service import Service
from sluice.domain.topology import S3_KINDS, store_name
from sluice.errors import NotFound, SluiceError, StorageError
from sluice.state.lineage import OUTPUT, LineageStore
from sluice.state.outbox import Outbox, Parcel
from sluice.storage.base import StorageProvider
from sluice.storage.resolver import StorageResolver
from sluice.storage.s3 import S3Provider
from sluice.supervision import Supervised

log = logging.getLogger(__name__)

RETRY_WAIT = 1.0  # seconds between delivery rounds while something waits
IDLE_WAIT = 5.0
REMOTE_CONNECT_TIMEOUT = 3.0  # seconds: an unreachable store is noticed soon
REMOTE_READ_TIMEOUT = 10.0  # seconds without a byte moving on a pooled connection
REMOTE_ATTEMPTS = 2
BATCH = 200

Deliver = Callable[[Parcel], None]  # raises when it could not be delivered


class Forwarder:
    def __init__(
        self,
        storage: StorageResolver,
        services: ServiceManager,
        outbox: Outbox,
        lineage: LineageStore,
        folder: Path,
        own_store: str,
    ) -> None:
        self._storage = storage
        self._services = services
        self._outbox = outbox
        self._lineage = lineage
        self._folder = folder
        self.own_store = own_store
        self._deliverers: dict[str, Deliver] = {"upload": self._deliver_upload}
        self._remotes: dict[tuple[str, ...], StorageProvider] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.loop = Supervised("forwarder", self._step, wake=self._wake)

    def add_deliverer(self, kind: str, deliver: Deliver) -> None:
        self._deliverers[kind] = deliver

    @property
    def outbox(self) -> Outbox:
        return self._outbox

    def wake(self) -> None:
        self._wake.set()

    # -- the upload hook -----------------------------------------------------------------------

    def upload(
        self,
        service: Service,
        name: str,
        provider: StorageProvider,
        local: Path,
        path: str,
        job_id: str,
    ) -> None:
        store = self._store_of(service, name)
        if self._is_remote(name, store):
            self._upload_remote(service, name, store, local, path, job_id)
        else:
            provider.upload_file(local, path)
        if job_id:
            self._lineage.add(job_id, service.name, OUTPUT, store=store, path=path)

    def _store_of(self, service: Service, name: str) -> str:
        """The store a provider names: a ``store_name`` for S3 stores, else the name itself."""
        kind, _, ident = name.partition(".")
        if name == DEFAULT_PROVIDER:
            return self.own_store
        config = service.storage_providers.get(kind, ident)
        if kind in S3_KINDS and isinstance(config, MinIOProvider) and config.endpoint:
            return store_name(config.endpoint)
        return name

    def _is_remote(self, name: str, store: str) -> bool:
        kind = name.partition(".")[0]
        return kind in S3_KINDS and name != DEFAULT_PROVIDER and store != self.own_store

    def _upload_remote(
        self, service: Service, provider: str, store: str, local: Path, path: str, job_id: str
    ) -> None:
        if not self._outbox.holds(store):
            try:
                self._remote(service, provider).upload_file(local, path)
                return
            except StorageError as exc:
                log.warning("%s is unreachable (%s); %s waits in the outbox", store, exc, path)
                error = str(exc)
        else:
            error = "queued behind earlier outputs for this store"
        spool = self._spool(local)
        self._outbox.add(
            "upload",
            service.name,
            provider,
            store,
            job_id=job_id,
            path=path,
            spool=spool,
            error=error,
        )
        self._wake.set()

    def _spool(self, local: Path) -> str:
        """A durable copy of ``local`` in the outbox folder; its name there."""
        self._folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        target = self._folder / name
        shutil.copyfile(local, target)
        with target.open("rb") as file:
            os.fsync(file.fileno())
        return name

    def _remote(self, service: Service, provider: str) -> StorageProvider:
        """A client for another cluster's store, quick to give up when it cannot connect."""
        kind, _, ident = provider.partition(".")
        config = service.storage_providers.get(kind, ident)
        if not isinstance(config, MinIOProvider):
            return self._storage.open(service, provider)
        key = (config.endpoint, config.access_key, config.secret_key, config.region)
        with self._lock:
            if key not in self._remotes:
                self._remotes[key] = S3Provider(
                    config.endpoint or None,
                    config.access_key,
                    config.secret_key,
                    config.region,
                    config.verify,
                    connect_timeout=REMOTE_CONNECT_TIMEOUT,
                    read_timeout=REMOTE_READ_TIMEOUT,
                    max_attempts=REMOTE_ATTEMPTS,
                )
            return self._remotes[key]

    # -- delivery ------------------------------------------------------------------------------

    def _step(self) -> float:
        parcels = self._outbox.waiting(limit=BATCH)
        blocked: set[str] = set()
        for parcel in parcels:
            if self.loop.stopping:
                break
            if parcel.store in blocked:
                continue  # keep the order: nothing overtakes what still waits for this store
            try:
                self._deliverers[parcel.kind](parcel)
            except (SluiceError, OSError) as exc:
                self._outbox.failed(parcel.id, str(exc))
                blocked.add(parcel.store)
                continue
            if self._outbox.delivered(parcel.id) and parcel.spool:
                (self._folder / parcel.spool).unlink(missing_ok=True)
            log.info(
                "delivered %s %s to %s", parcel.kind, parcel.path or parcel.job_id, parcel.target
            )
        return RETRY_WAIT if parcels else IDLE_WAIT

    def _deliver_upload(self, parcel: Parcel) -> None:
        try:
            service = self._services.get(parcel.service).service
        except NotFound:
            raise StorageError(f"service {parcel.service!r} was deleted; cannot deliver") from None
        if parcel.spool is None:
            raise StorageError("no file was kept for this upload")
        self._remote(service, parcel.target).upload_file(self._folder / parcel.spool, parcel.path)
