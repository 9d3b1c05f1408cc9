"""Synchronous invocation (``POST /run``): run a service now and answer with its result.

Every call counts against the same capacity as file jobs; the executor decides how (a CPU and
memory reservation per script run, or a warm worker of a handler service).
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sluice.core.services import ServiceManager
from sluice.domain.results import SyncResult
from sluice.domain.service import Service
from sluice.errors import Busy, Invalid
from sluice.execution.base import Executor
from sluice.supervisor.body import Body, is_blank


class Invocations:
    """``max_waiting``: calls of one service that may wait for room beyond the ones its
    ``synchronous.max_scale`` lets run; past that a call is refused at once (429) rather than
    tie up the manager."""

    def __init__(
        self,
        services: ServiceManager,
        executor: Executor,
        default_timeout: float = 300.0,
        max_waiting: int = 64,
    ) -> None:
        self._services = services
        self._executor = executor
        self._default_timeout = default_timeout
        self._max_waiting = max_waiting
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def run(self, name: str, body: Body) -> SyncResult:
        record = self._services.get(name)
        if is_blank(body):
            raise Invalid("the request body is empty: send the input, base64-encoded or as is")
        timeout = record.service.timeout or self._default_timeout
        with self._admitted(record.service):
            return self._executor.invoke(record, body, timeout)

    @contextmanager
    def _admitted(self, service: Service) -> Iterator[None]:
        allowed = service.synchronous.max_scale + self._max_waiting
        with self._lock:
            current = self._in_flight.get(service.name, 0)
            if current >= allowed:
                raise Busy(
                    f"service {service.name!r} has {current} calls running or waiting, its "
                    f"limit; try again later"
                )
            self._in_flight[service.name] = current + 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[service.name] -= 1
