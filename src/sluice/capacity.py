"""CPU and memory handed out to jobs so that they never add up to more than there is.

``Capacity`` is what the dispatcher, the executors and the worker pools need; this machine's
implementation is ``MachineCapacity``. A cluster's capacity (the Kubernetes runtime) implements
the same Protocol.
"""

import math
import os
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

import psutil

from sluice.domain.service import Service


def _millicores(cpu: float) -> int:
    """Whole millicores, rounded up, so that sums of 0.1 + 0.2 + ... do not drift."""
    if cpu < 0:
        raise ValueError(f"cpu must not be negative, got {cpu}")
    return math.ceil(round(cpu * 1000, 6))


def _machine_cpus() -> float:
    if hasattr(os, "sched_getaffinity"):
        return float(len(os.sched_getaffinity(0)))  # the CPUs this process may use
    return float(os.cpu_count() or 1)


class Reservation:
    """CPU and memory held by one job until ``release`` (or the end of a ``with`` block)."""

    def __init__(self, cpu: float, memory: int, on_release: Callable[[], None]) -> None:
        self.cpu = cpu
        self.memory = memory
        self._on_release: Callable[[], None] | None = on_release
        self._lock = threading.Lock()

    @property
    def released(self) -> bool:
        return self._on_release is None

    def release(self) -> None:
        """Give the resources back; later calls do nothing."""
        with self._lock:
            on_release, self._on_release = self._on_release, None
        if on_release is not None:
            on_release()

    def __enter__(self) -> "Reservation":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class Capacity(Protocol):
    """Totals and what is in use; ``try_acquire`` neither waits nor queues."""

    @property
    def total_cpu(self) -> float: ...
    @property
    def total_memory(self) -> int: ...
    @property
    def used_cpu(self) -> float: ...
    @property
    def used_memory(self) -> int: ...
    @property
    def free_cpu(self) -> float: ...
    @property
    def free_memory(self) -> int: ...

    def fits_ever(self, cpu: float, memory: int) -> bool:
        """False for a request larger than everything there is: it could never run."""
        ...

    def try_acquire(self, cpu: float, memory: int) -> "Reservation | None":
        """A reservation if the request fits in what is free now, else None."""
        ...


class MachineCapacity:
    """This machine's CPUs and memory (or the totals given): thread-safe bookkeeping."""

    def __init__(self, total_cpu: float | None = None, total_memory: int | None = None) -> None:
        cpu = _machine_cpus() if total_cpu is None else total_cpu
        memory = psutil.virtual_memory().total if total_memory is None else total_memory
        if memory < 0:
            raise ValueError(f"total_memory must not be negative, got {memory}")
        self._total_milli = _millicores(cpu)
        self._total_memory = int(memory)
        self._used_milli = 0
        self._used_memory = 0
        self._lock = threading.Lock()

    def fits_ever(self, cpu: float, memory: int) -> bool:
        """False for a request larger than the whole machine: it could never run."""
        return _millicores(cpu) <= self._total_milli and _bytes(memory) <= self._total_memory

    def try_acquire(self, cpu: float, memory: int) -> Reservation | None:
        """A reservation if the request fits in what is free now, else None."""
        milli, size = _millicores(cpu), _bytes(memory)
        with self._lock:
            if self._used_milli + milli > self._total_milli:
                return None
            if self._used_memory + size > self._total_memory:
                return None
            self._used_milli += milli
            self._used_memory += size
        return Reservation(cpu, memory, lambda: self._give_back(milli, size))

    def _give_back(self, milli: int, size: int) -> None:
        with self._lock:
            self._used_milli -= milli
            self._used_memory -= size

    @property
    def total_cpu(self) -> float:
        return self._total_milli / 1000

    @property
    def total_memory(self) -> int:
        return self._total_memory

    @property
    def used_cpu(self) -> float:
        return self._used_milli / 1000

    @property
    def used_memory(self) -> int:
        return self._used_memory

    @property
    def free_cpu(self) -> float:
        return (self._total_milli - self._used_milli) / 1000

    @property
    def free_memory(self) -> int:
        return self._total_memory - self._used_memory


# Frees some capacity that is held but idle (a warm worker, say); True if it did.
Reclaimer = Callable[[], bool]


class ReclaimingCapacity:
    """A ``Capacity`` that, when a request does not fit, first asks the reclaimers to give
    back what is held but idle (warm workers nobody is calling) and tries again: idle
    workers of one service never keep another service's jobs waiting."""

    def __init__(self, inner: Capacity) -> None:
        self._inner = inner
        self._reclaimers: list[Reclaimer] = []

    def add_reclaimer(self, reclaimer: Reclaimer) -> None:
        self._reclaimers.append(reclaimer)

    def try_acquire(self, cpu: float, memory: int) -> Reservation | None:
        reservation = self._inner.try_acquire(cpu, memory)
        while reservation is None and self._inner.fits_ever(cpu, memory):
            if not any(reclaim() for reclaim in self._reclaimers):
                return None
            reservation = self._inner.try_acquire(cpu, memory)
        return reservation

    def fits_ever(self, cpu: float, memory: int) -> bool:
        return self._inner.fits_ever(cpu, memory)

    @property
    def total_cpu(self) -> float:
        return self._inner.total_cpu

    @property
    def total_memory(self) -> int:
        return self._inner.total_memory

    @property
    def used_cpu(self) -> float:
        return self._inner.used_cpu

    @property
    def used_memory(self) -> int:
        return self._inner.used_memory

    @property
    def free_cpu(self) -> float:
        return self._inner.free_cpu

    @property
    def free_memory(self) -> int:
        return self._inner.free_memory


def _bytes(memory: int) -> int:
    if memory < 0:
        raise ValueError(f"memory must not be negative, got {memory}")
    return memory


def too_big(service: Service, capacity: Capacity) -> str | None:
    """Why ``service``'s jobs can never run here, or None when one fits the machine."""
    if capacity.fits_ever(service.cpu_cores, service.memory_bytes):
        return None
    return (
        f"service {service.name!r} asks for {service.cpu} CPU and {service.memory} "
        "memory per job, more than this machine has for jobs"
    )
