"""A pool of warm handler workers for one service: grown on demand, shrunk when idle.

Every worker holds a capacity ``Reservation`` from ``reserve()`` for as long as it lives,
so the pool grows only while the machine has room, and never past ``max_scale``. A
worker serves one request at a time. A background reaper closes workers idle longer than
``idle_timeout`` (down to ``min_scale``), discards dead ones and replaces them up to
``min_scale``.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from sluice.capacity import Reservation
from sluice.errors import BackendError
from sluice.workers.worker import HandlerWorker

log = logging.getLogger(__name__)

RESERVE_RETRY = 0.1  # seconds between reserve() attempts while capacity is short
REFILL_BACKOFF = (1.0, 60.0)  # seconds before re-spawning for min_scale after a failure


class NoWorkerFree(BackendError):
    """Every worker stayed busy, and the pool could not grow, for the whole wait."""


@dataclass(frozen=True)
class PoolStats:
    live: int  # worker processes: idle + busy + starting
    busy: int
    idle: int
    starting: int
    peak_live: int
    spawned: int  # workers started successfully since the pool was made


class _Slot:
    """A worker and the capacity it holds."""

    def __init__(self, worker: HandlerWorker, reservation: Reservation) -> None:
        self.worker = worker
        self.reservation = reservation
        self.idle_since = time.monotonic()

    def discard(self) -> None:
        try:
            self.worker.close()
        finally:
            self.reservation.release()

    def give_back(self) -> None:
        """Release the capacity now and let the worker leave in the background (it only
        has to read EOF and exit): for a caller that is waiting on that capacity."""
        self.reservation.release()
        threading.Thread(target=self.worker.close, name="sluice-worker-close", daemon=True).start()


class WorkerPool:
    """``spawn`` makes a new, not yet started worker; the pool starts it."""

    def __init__(
        self,
        spawn: Callable[[], HandlerWorker],
        *,
        min_scale: int,
        max_scale: int,  # 0: bounded only by reserve()
        idle_timeout: float,
        reserve: Callable[[], Reservation | None],
        start_timeout: float = 300.0,
    ) -> None:
        if min_scale < 0 or max_scale < 0:
            raise ValueError("min_scale and max_scale must not be negative")
        if max_scale and min_scale > max_scale:
            raise ValueError(f"min_scale {min_scale} is above max_scale {max_scale}")
        if idle_timeout <= 0 or start_timeout <= 0:
            raise ValueError("idle_timeout and start_timeout must be positive")
        self._spawn, self._reserve = spawn, reserve
        self._min, self._max = min_scale, max_scale
        self._idle_timeout, self._start_timeout = idle_timeout, start_timeout
        self._cond = threading.Condition()
        self._idle: list[_Slot] = []  # the most recently used last
        self._busy: set[_Slot] = set()
        self._starting = 0
        self._launching: set[HandlerWorker] = set()
        self._peak = 0
        self._spawned = 0
        self._closed = False
        self._refill_at = 0.0
        self._refill_delay = REFILL_BACKOFF[0]
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None

    def start(self) -> None:
        """Start ``min_scale`` workers (raising if any fails to start) and the reaper."""
        if self._reaper is not None:
            raise BackendError("the worker pool has already been started")
        with self._cond:
            reservations = [self._grow() for _ in range(self._min)]
        try:
            self._add_idle(reservations)
        except BaseException:
            self.close()
            raise
        interval = max(0.05, min(1.0, self._idle_timeout / 4))
        self._reaper = threading.Thread(
            target=self._reap_loop, args=(interval,), name="sluice-worker-reaper", daemon=True
        )
        self._reaper.start()

    def _add_idle(self, reservations: list[Reservation | None]) -> None:
        """Start one worker per reservation, in parallel; failures release theirs."""
        wanted = [r for r in reservations if r is not None]
        if not reservations:
            return
        with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as executor:
            futures = [executor.submit(self._start_slot, r, False) for r in wanted]
        errors = [error for future in futures if (error := future.exception()) is not None]
        if len(wanted) < len(reservations):
            raise BackendError("not enough free capacity to keep the minimum of workers")
        if errors:
            raise errors[0]

    @contextmanager
    def acquire(self, timeout: float) -> Iterator[HandlerWorker]:
        """A live worker for the ``with`` block: an idle one, or a new one when the pool may
        grow. Raises BackendError after ``timeout`` seconds, or if a new worker fails."""
        slot = self._checkout(timeout)
        try:
            yield slot.worker
        finally:
            self._checkin(slot)

    def _checkout(self, timeout: float) -> _Slot:
        deadline = time.monotonic() + timeout
        dead: list[_Slot] = []
        try:
            with self._cond:
                while True:
                    if self._closed:
                        raise BackendError("the worker pool is closed")
                    slot = self._take_idle(dead)
                    if slot is not None:
                        self._busy.add(slot)
                        return slot
                    reservation = self._grow()
                    if reservation is not None:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise NoWorkerFree(f"no worker free within {timeout:g} s ({self._why()})")
                    self._cond.wait(min(remaining, RESERVE_RETRY))
        finally:
            self._discard(dead)
        return self._start_slot(reservation, True)

    def _take_idle(self, dead: list[_Slot]) -> _Slot | None:
        while self._idle:
            slot = self._idle.pop()
            if slot.worker.alive:
                return slot
            dead.append(slot)
        return None

    def _grow(self) -> Reservation | None:
        """Room for one more worker, counted as starting; holding the lock."""
        live = self._live()
        if self._max and live >= self._max:
            return None
        reservation = self._reserve()
        if reservation is not None:
            self._starting += 1
            self._peak = max(self._peak, live + 1)
        return reservation

    def _start_slot(self, reservation: Reservation, busy: bool) -> _Slot:
        """Spawn and start a worker for ``reservation``, counted as starting meanwhile, then
        as busy (for the caller) or idle."""
        worker: HandlerWorker | None = None
        try:
            worker = self._spawn()
            with self._cond:
                self._launching.add(worker)  # so that close() can cut a long init short
                closed = self._closed
            if closed:
                raise BackendError("the worker pool is closed")
            worker.start(self._start_timeout)
        except BaseException:
            if worker is not None:
                worker.close()
            reservation.release()
            self._started(worker, None, busy)
            raise
        slot = _Slot(worker, reservation)
        self._started(worker, slot, busy)
        log.info("started a worker of %s (%d live)", worker.spec.service, self.stats().live)
        return slot

    def _started(self, worker: HandlerWorker | None, slot: _Slot | None, busy: bool) -> None:
        # No longer starting and busy (or idle) in one step: in between, the pool would look
        # one worker short and another thread could grow it past max_scale.
        with self._cond:
            self._starting -= 1
            if worker is not None:
                self._launching.discard(worker)
            self._cond.notify_all()
            if slot is None:
                return
            self._spawned += 1
            closed = self._closed
            if not closed and busy:
                self._busy.add(slot)
            elif not closed:
                self._idle.append(slot)
        if closed:
            slot.discard()
            raise BackendError("the worker pool is closed")

    def _checkin(self, slot: _Slot) -> None:
        with self._cond:
            if slot not in self._busy:
                return  # the pool was closed meanwhile, and closed the worker
            self._busy.discard(slot)
            keep = slot.worker.alive and not self._closed
            if keep:
                slot.idle_since = time.monotonic()
                self._idle.append(slot)
            self._cond.notify_all()
        if not keep:
            if not self._closed:
                log.warning(
                    "a worker of %s exited after a call; discarding it", slot.worker.spec.service
                )
            slot.discard()

    def _discard(self, slots: list[_Slot]) -> None:
        for slot in slots:
            log.info("stopping a worker of %s", slot.worker.spec.service)
            slot.discard()
        if slots:
            with self._cond:
                self._cond.notify_all()

    def _why(self) -> str:
        """Why the pool could not grow, holding the lock."""
        busy = f"{len(self._busy)} busy, {self._starting} starting"
        if self._max and self._live() >= self._max:
            return f"{busy}: max_scale {self._max} reached"
        return f"{busy}: no free capacity for another worker"

    def shed_idle(self, idle_for: float) -> bool:
        """Close the longest-idle worker above ``min_scale`` that has been idle at least
        ``idle_for`` seconds, giving its capacity back at once; False if there is none. Never
        waits on the pool (another pool may be asking while it holds its own lock)."""
        if not self._cond.acquire(blocking=False):
            return False
        try:
            if self._closed or self._live() <= self._min or not self._idle:
                return False
            oldest = min(self._idle, key=lambda slot: slot.idle_since)
            if time.monotonic() - oldest.idle_since < idle_for:
                return False
            self._idle.remove(oldest)
            self._cond.notify_all()
        finally:
            self._cond.release()
        service = oldest.worker.spec.service
        log.info("stopping an idle worker of %s: its capacity is wanted", service)
        oldest.give_back()
        return True

    def _live(self) -> int:
        return len(self._idle) + len(self._busy) + self._starting

    def _reap_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self._discard(self._expired())
                self._refill()
            except Exception:  # the reaper must outlive any one failure
                log.exception("worker pool maintenance failed; trying again")

    def _expired(self) -> list[_Slot]:
        """Idle workers that are dead, or idle too long while above min_scale."""
        now = time.monotonic()
        with self._cond:
            doomed = [slot for slot in self._idle if not slot.worker.alive]
            kept = [slot for slot in self._idle if slot not in doomed]
            surplus = len(kept) + len(self._busy) + self._starting - self._min
            for slot in sorted(kept, key=lambda slot: slot.idle_since):
                if surplus <= 0 or now - slot.idle_since < self._idle_timeout:
                    break
                kept.remove(slot)
                doomed.append(slot)
                surplus -= 1
            self._idle = kept
        return doomed

    def _refill(self) -> None:
        """Replace workers that died, up to min_scale, backing off while starts fail."""
        with self._cond:
            if self._closed or time.monotonic() < self._refill_at:
                return
            reservations = [self._grow() for _ in range(self._min - self._live())]
        try:
            self._add_idle(reservations)
        except BackendError:
            self._refill_at = time.monotonic() + self._refill_delay
            self._refill_delay = min(self._refill_delay * 2, REFILL_BACKOFF[1])
        else:
            self._refill_delay = REFILL_BACKOFF[0]

    def stats(self) -> PoolStats:
        with self._cond:
            idle, busy, starting = len(self._idle), len(self._busy), self._starting
            return PoolStats(
                idle + busy + starting, busy, idle, starting, self._peak, self._spawned
            )

    def close(self) -> None:
        """Stop the reaper and close every worker; calls in flight fail."""
        with self._cond:
            self._closed = True
            slots = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
            launching = list(self._launching)
            self._cond.notify_all()
        for worker in launching:
            worker.close()  # its start() fails, and _start_slot gives its capacity back
        self._stop.set()
        reaper = self._reaper
        if reaper is not None and reaper is not threading.current_thread():
            reaper.join()
        self._discard(slots)
