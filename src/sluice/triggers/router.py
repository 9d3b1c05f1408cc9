"""One router for every object event: which services watch the path, and one job for each."""

import logging
import threading
from concurrent.futures import Future
from datetime import UTC, datetime

from sluice.core.jobs import JobService
from sluice.core.services import ServiceManager
from sluice.domain.job import Job, ObjectRef
from sluice.domain.parts import StoragePath
from sluice.domain.service import Service
from sluice.triggers.s3_events import storage_event

log = logging.getLogger(__name__)


def relative_name(watch: StoragePath, bucket: str, key: str) -> str | None:
    """The key's name inside the watched folder, or None if the key is not under it."""
    if bucket != watch.bucket or key.endswith("/"):
        return None
    folder = watch.folder
    if not folder:
        return key
    if not key.startswith(folder + "/"):
        return None
    return key[len(folder) + 1 :]


class EventRouter:
    def __init__(self, services: ServiceManager, jobs: JobService) -> None:
        self._services = services
        self._jobs = jobs
        self._watchers: list[tuple[Service, StoragePath]] | None = None
        self._lock = threading.Lock()
        services.add_listener(lambda _old, _new: self.invalidate())

    def invalidate(self) -> None:
        with self._lock:
            self._watchers = None

    def watchers(self) -> list[tuple[Service, StoragePath]]:
        with self._lock:
            if self._watchers is None:
                self._watchers = [
                    (record.service, watch)
                    for record in self._services.list()
                    for watch in record.service.input
                ]
            return self._watchers

    def unwatched(self, provider: str, bucket: str, key: str) -> bool:
        """True when no service watches the path, known without reading anything (False
        when the watchers must first be read again): lets the event route answer at once
        for the many events of outputs that no service watches."""
        with self._lock:
            watchers = self._watchers
        if watchers is None:
            return False
        return not any(
            watch.storage_provider == provider and relative_name(watch, bucket, key) is not None
            for _service, watch in watchers
        )

    def route(
        self,
        provider: str,
        bucket: str,
        key: str,
        etag: str,
        size: int = 0,
        event_time: datetime | None = None,
        only: str | None = None,
    ) -> list[Job]:
        """Start one job per watching service (``only``: just that one) for a new object."""
        pending = self.route_soon(provider, bucket, key, etag, size, event_time, only)
        created = [job for job in (done.result() for done in pending) if job is not None]
        if not created:
            log.debug("no new job for %s:%s/%s", provider, bucket, key)
        return created

    def knows_watchers(self) -> bool:
        """True when ``route_soon`` reads nothing (the watchers are at hand), so it may run
        on the event loop."""
        with self._lock:
            return self._watchers is not None

    def route_soon(
        self,
        provider: str,
        bucket: str,
        key: str,
        etag: str,
        size: int = 0,
        event_time: datetime | None = None,
        only: str | None = None,
    ) -> "list[Future[Job | None]]":
        """``route`` without waiting: each watching service's job, done once committed (None
        when that object version already has one)."""
        ref = ObjectRef(provider, bucket, key, etag)
        event: bytes | None = None  # built once, and only when some service watches the path
        pending = []
        for service, watch in self.watchers():
            if only is not None and service.name != only:
                continue
            name = relative_name(watch, bucket, key)
            if watch.storage_provider != provider or name is None or not watch.accepts(name):
                continue
            event = event or storage_event(ref, size, event_time or datetime.now(UTC))
            pending.append(self._jobs.submit_object_soon(service, ref, event))
        return pending
