"""Scan input paths for objects that have no job: uploads made while Sluice was down, or
events the object store failed to deliver."""

import logging
from datetime import timedelta

from sluice.core.services import ServiceManager
from sluice.domain.job import ObjectRef
from sluice.domain.parts import StoragePath
from sluice.domain.service import ServiceRecord
from sluice.errors import SluiceError
from sluice.state.jobs import JobLedger
from sluice.storage.resolver import StorageResolver
from sluice.supervision import Supervised
from sluice.triggers.router import EventRouter, relative_name

log = logging.getLogger(__name__)

# Objects written just before the service existed are not its work; allow for clock skew.
CREATION_SLACK = timedelta(seconds=5)


class Reconciler:
    def __init__(
        self,
        services: ServiceManager,
        storage: StorageResolver,
        ledger: JobLedger,
        router: EventRouter,
        interval: float,
    ) -> None:
        self._services = services
        self._storage = storage
        self._ledger = ledger
        self._router = router
        self._interval = interval
        self.loop = Supervised("reconciler", self._step)

    def start(self) -> None:
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop()

    def scan_soon(self) -> None:
        """Scan now rather than at the next interval (the store lost events it had queued)."""
        self.loop.wake()

    def _step(self) -> float:
        self.run_once()
        return self._interval

    def run_once(self) -> int:
        """Enqueue every missed object; returns how many jobs were created."""
        created = 0
        for record in self._services.list():
            for watch in record.service.input:
                try:
                    created += self._scan(record, watch)
                except SluiceError as exc:
                    log.warning("cannot scan %s of %s: %s", watch.path, record.service.name, exc)
        if created:
            log.info("reconciliation found %d upload(s) with no job", created)
        return created

    def _scan(self, record: ServiceRecord, watch: StoragePath) -> int:
        service = record.service
        provider = self._storage.open(service, watch.storage_provider)
        since = record.created_at - CREATION_SLACK
        candidates = {}
        for info in provider.list_objects(watch.path):
            bucket, _, key = info.path.partition("/")
            name = relative_name(watch, bucket, key)
            if info.last_modified < since or name is None or not watch.accepts(name):
                continue
            ref = ObjectRef(watch.storage_provider, bucket, key, info.etag)
            candidates[ref] = info
        known = self._ledger.known_sources(service.name, candidates)
        created = 0
        for ref, info in candidates.items():
            if ref.dedupe_key(service.name) in known:
                continue
            created += len(
                self._router.route(
                    ref.provider,
                    ref.bucket,
                    ref.key,
                    ref.etag,
                    info.size,
                    info.last_modified,
                    only=service.name,
                )
            )
        return created
