"""OSCAR's execution log: every ``POST /run/<service>`` and ``/job/<service>`` call, and every
job an upload to the embedded store starts (OSCAR sees those as MinIO's calls to /job).

``GET /system/logs`` shows the entries since this manager started (OSCAR shows its pod's log;
``previous=true`` the previous run's), and the metrics count requests from them. Entries older
than the retention are dropped.
"""

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sluice.domain.job import Job
from sluice.state.executions import Execution, ExecutionStore

log = logging.getLogger(__name__)

PREFIX = "[GIN-EXECUTIONS-LOGGER]"
KINDS = {"run": "sync", "job": "async"}
DEFAULT_USER = "oscar"  # OSCAR logs this user when the caller is not an OIDC user
STORE_USER = "seaweedfs"
MAX_ENTRIES = 10_000  # most entries one GET /system/logs returns (the latest)
PRUNE_EVERY = 500  # records between two pruning passes
FLUSH_EVERY = 0.5  # seconds a recorded call may wait before it is written


def invocation(method: str, path: str) -> tuple[str, str] | None:
    """(kind, service) of an execution-log request, or None for any other request."""
    if method != "POST":
        return None
    parts = path.strip("/").split("/")
    if len(parts) != 2 or parts[0] not in KINDS or not parts[1]:
        return None
    return KINDS[parts[0]], parts[1]


class ExecutionLog:
    """Calls are recorded in memory and written in batches by a background thread, so that a
    call's answer never waits for the database; every read writes what is pending first."""

    def __init__(self, store: ExecutionStore, retention: timedelta, started_at: datetime) -> None:
        self._store = store
        self._retention = retention
        self.started_at = started_at
        self._since_prune = 0
        self._pending: list[Execution] = []
        self._lock = threading.Lock()  # guards _pending and the writer thread
        self._writing = threading.Lock()  # one batch at a time, in order
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None

    def record(
        self,
        *,
        method: str,
        path: str,
        status: int,
        latency: float,
        client_ip: str,
        user: str,
        at: datetime | None = None,
    ) -> None:
        found = invocation(method, path)
        if found is None:
            return
        kind, service = found
        at = at or datetime.now(UTC)
        entry = Execution(at, service, kind, status, latency, client_ip, method, path, user)
        self._add([entry])

    def record_storage_jobs(self, jobs: Iterable[Job], client_ip: str) -> None:
        """Jobs the object store's notifications started, as OSCAR logs MinIO's /job calls."""
        now = datetime.now(UTC)
        entries = [
            Execution(
                now,
                job.service,
                "async",
                201,
                0.0,
                client_ip,
                "POST",
                f"/job/{job.service}",
                STORE_USER,
            )
            for job in jobs
        ]
        self._add(entries)

    def entries(self, previous: bool = False) -> list[Execution]:
        """This run's entries, or with ``previous`` those recorded before it started."""
        self.flush()
        if previous:
            start, end = datetime.fromtimestamp(0, UTC), self.started_at
        else:
            start, end = self.started_at, datetime.now(UTC) + timedelta(seconds=1)
        return self._store.between(start, end, limit=MAX_ENTRIES)

    def between(
        self, start: datetime, end: datetime, service: str | None = None
    ) -> list[Execution]:
        self.flush()
        return self._store.between(start, end, service)

    def flush(self) -> None:
        """Write every recorded call now; drop entries older than the retention now and then."""
        with self._writing:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                self._store.add(batch)
            except Exception:
                with self._lock:  # keep them for the next try
                    self._pending[:0] = batch
                raise
            self._since_prune += len(batch)
            if self._since_prune >= PRUNE_EVERY:
                self._since_prune = 0
                self._store.prune(datetime.now(UTC) - self._retention)

    def close(self) -> None:
        """Stop the writer and write what is pending."""
        self._stop.set()
        if self._writer is not None:
            self._writer.join(timeout=10)
        self.flush()

    def _add(self, entries: list[Execution]) -> None:
        if not entries:
            return
        with self._lock:
            self._pending.extend(entries)
            if self._writer is None and not self._stop.is_set():
                self._writer = threading.Thread(
                    target=self._write_loop, name="execution-log", daemon=True
                )
                self._writer.start()

    def _write_loop(self) -> None:
        while not self._stop.wait(FLUSH_EVERY):
            try:
                self.flush()
            except Exception:
                log.exception("cannot write the execution log; will retry")


def log_line(entry: Execution) -> str:
    """The line OSCAR's execution logger writes for a call."""
    stamp = entry.at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return (
        f"{PREFIX} {stamp} | {entry.status:3d} | {go_duration(entry.latency):>13} | "
        f"{entry.client_ip} | {entry.method:<7} {entry.path} | {entry.user}"
    )


def go_duration(seconds: float) -> str:
    """A duration the way Go prints one: ``1.5s``, ``347.805334ms``, ``950µs``, ``0s``."""
    nanos = round(seconds * 1e9)
    if nanos >= 60 * 10**9:
        hours, rest = divmod(nanos, 3600 * 10**9)
        minutes, rest = divmod(rest, 60 * 10**9)
        text = f"{hours}h" if hours else ""
        return text + f"{minutes}m" + f"{rest / 1e9:.9f}".rstrip("0").rstrip(".") + "s"
    for unit, size in (("s", 10**9), ("ms", 10**6), ("µs", 10**3)):
        if nanos >= size:
            text = f"{nanos / size:.9f}".rstrip("0").rstrip(".")
            return text + unit
    return f"{nanos}ns" if nanos else "0s"
