"""The execution seam: what the dispatcher and the sync path ask of whoever runs the work.

An executor may run work here (threads around local processes or containers) or elsewhere (a
cluster), so starting work returns a handle: wait or poll it, cancel it, read its live log, or
be called back when it ends. Capacity is asked for first (``reserve``), so that the dispatcher
claims jobs in the ledger only when they can start.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sluice.domain.job import Job
from sluice.domain.results import JobReport, SyncResult
from sluice.domain.service import Service, ServiceRecord
from sluice.supervisor.body import Body

Reports = list[JobReport]


@dataclass(frozen=True)
class BatchPolicy:
    """How many due jobs of a service one start takes, and how long a partial batch waits."""

    size: int = 1
    wait: float = 0.0  # seconds


@dataclass(frozen=True)
class Workers:
    """A service's warm workers now (handler services): ready (idle or busy) and starting
    ones, and why the last start failed ("" when it did not)."""

    ready: int
    starting: int
    failure: str = ""


class Slot(Protocol):
    """Room for one start: given back by the execution when it ends, or by ``release``."""

    def release(self) -> None: ...


class ReleaseOnce:
    """A ``Slot`` that calls ``on_release`` the first time it is released, never again."""

    def __init__(self, on_release: Callable[[], None]) -> None:
        self._on_release: Callable[[], None] | None = on_release
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            on_release, self._on_release = self._on_release, None
        if on_release is not None:
            on_release()


class InFlight:
    """Work in flight per service, up to a limit given at each take: a slot per piece."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, name: str, limit: int) -> Slot | None:
        """A slot for ``name``'s next piece, or None when ``limit`` are in flight."""
        with self._lock:
            if self._counts.get(name, 0) >= limit:
                return None
            self._counts[name] = self._counts.get(name, 0) + 1
        return ReleaseOnce(lambda: self._give_back(name))

    def _give_back(self, name: str) -> None:
        with self._lock:
            self._counts[name] -= 1


class Execution(Protocol):
    """Work started for one or more jobs; one report per job, in their order."""

    @property
    def job_ids(self) -> list[str]: ...

    def wait(self, timeout: float | None = None) -> Reports | None:
        """The reports once it has ended; None if it still runs after ``timeout`` seconds."""
        ...

    def add_done_callback(self, callback: Callable[[Reports], None]) -> None:
        """Call ``callback(reports)`` when it ends (at once if it has), from any thread."""
        ...

    def cancel(self) -> None:
        """Stop it; its reports then say cancelled."""
        ...

    def live_log(self, job_id: str) -> str | None:
        """What the job has printed so far; None when there is nothing (yet, or any more)."""
        ...


class Executor(Protocol):
    name: str

    def check(self, service: Service) -> list[str]:
        """Before a service is saved: raise ``Invalid`` for one that cannot run; warnings."""
        ...

    def service_changed(self, old: Service | None, new: Service | None) -> None:
        """After a create (old None), update or delete (new None): warm up or tear down."""
        ...

    def batching(self, service: Service) -> BatchPolicy: ...

    def reserve(self, service: Service) -> Slot | None:
        """Room to start one batch now, else None. Raises ``Invalid`` if it never will be."""
        ...

    def why_waiting(self, service: Service) -> str:
        """For people: why a Pending job of ``service`` cannot start now ("" if not known)."""
        ...

    def start(self, slot: Slot, record: ServiceRecord, jobs: list[Job]) -> Execution:
        """Start the jobs (whole, payloads loaded) in the room ``slot`` holds."""
        ...

    def invoke(self, record: ServiceRecord, body: Body, timeout: float) -> SyncResult:
        """A synchronous call, answered within ``timeout`` seconds (504 otherwise)."""
        ...

    def workers(self, service: Service) -> Workers | None:
        """The service's warm workers, for services that keep some; None otherwise."""
        ...

    def close(self) -> None:
        """Stop everything still running; the ledger re-runs file jobs on the next start."""
        ...
