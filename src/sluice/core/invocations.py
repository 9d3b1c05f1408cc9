"""Synchronous invocation (``POST /run``): run a service now and answer with its result.

Every call counts against the same CPU and memory as file jobs, and ``synchronous.max_scale``
caps how many calls of one service run at once (0: only the machine's capacity does).
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sluice.core.capacity import Capacity, Reservation, too_big
from sluice.core.handlers import HandlerPools
from sluice.core.services import ServiceManager
from sluice.domain.service import Service
from sluice.errors import Invalid
from sluice.supervisor.sync import ScriptInvoker, SyncResult

CAPACITY_POLL = 0.02


class Invocations:
    def __init__(
        self,
        services: ServiceManager,
        capacity: Capacity,
        scripts: ScriptInvoker,
        handlers: HandlerPools,
        default_timeout: float = 300.0,
    ) -> None:
        self._services = services
        self._capacity = capacity
        self._scripts = scripts
        self._handlers = handlers
        self._default_timeout = default_timeout
        self._slots: dict[str, tuple[int, threading.BoundedSemaphore]] = {}
        self._lock = threading.Lock()

    def run(self, name: str, body: bytes) -> SyncResult:
        record = self._services.get(name)
        if not body.strip():
            raise Invalid("the request body is empty: send the input, base64-encoded or as is")
        service = record.service
        timeout = service.timeout or self._default_timeout
        if service.handler:
            return self._handlers.invoke(record, body, timeout)
        deadline = time.monotonic() + timeout
        with self._slot(service, deadline) as got_slot:
            if not got_slot:
                return _too_slow(service, timeout)
            reservation = self._reserve(service, deadline)
            if reservation is None:
                return _too_slow(service, timeout)
            with reservation:
                remaining = max(0.1, deadline - time.monotonic())
                return self._scripts.invoke(record, body, remaining, limit=timeout)

    @contextmanager
    def _slot(self, service: Service, deadline: float) -> Iterator[bool]:
        limit = service.synchronous.max_scale
        if limit <= 0:
            yield True
            return
        with self._lock:
            size, slot = self._slots.get(service.name, (0, None))
            if slot is None or size != limit:  # new, or max_scale changed by an update
                slot = threading.BoundedSemaphore(limit)
                self._slots[service.name] = (limit, slot)
        acquired = slot.acquire(timeout=max(0.0, deadline - time.monotonic()))
        try:
            yield acquired
        finally:
            if acquired:
                slot.release()

    def _reserve(self, service: Service, deadline: float) -> Reservation | None:
        reason = too_big(service, self._capacity)
        if reason is not None:
            raise Invalid(reason)
        while time.monotonic() < deadline:
            reservation = self._capacity.try_acquire(service.cpu_cores, service.memory_bytes)
            if reservation is not None:
                return reservation
            time.sleep(CAPACITY_POLL)
        return None


def _too_slow(service: Service, timeout: float) -> SyncResult:
    message = f"service {service.name!r} had no free capacity within {timeout:g} s\n"
    return SyncResult(504, message.encode())
