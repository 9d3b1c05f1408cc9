import os
import threading
import time

import psutil
import pytest

from sluice.capacity import MachineCapacity, ReclaimingCapacity, Reservation

MiB = 2**20


def test_defaults_are_the_machine() -> None:
    capacity = MachineCapacity()
    assert 1 <= capacity.total_cpu <= (os.cpu_count() or 1)
    assert capacity.total_memory == psutil.virtual_memory().total
    assert capacity.free_cpu == capacity.total_cpu
    assert capacity.used_memory == 0


def test_acquire_until_full_then_release() -> None:
    capacity = MachineCapacity(total_cpu=2, total_memory=512 * MiB)
    first = capacity.try_acquire(1.5, 256 * MiB)
    assert first is not None
    assert capacity.try_acquire(1, 1) is None  # CPU does not fit
    assert capacity.try_acquire(0.5, 300 * MiB) is None  # memory does not fit
    second = capacity.try_acquire(0.5, 256 * MiB)
    assert second is not None
    assert (capacity.free_cpu, capacity.free_memory) == (0, 0)
    assert (capacity.used_cpu, capacity.used_memory) == (2, 512 * MiB)
    first.release()
    assert (capacity.free_cpu, capacity.free_memory) == (1.5, 256 * MiB)


def test_release_is_idempotent_and_a_context_manager() -> None:
    capacity = MachineCapacity(total_cpu=1, total_memory=100)
    with capacity.try_acquire(1, 100) as held:  # type: ignore[union-attr]
        assert capacity.free_cpu == 0
        held.release()
        held.release()
        assert held.released
    assert (capacity.used_cpu, capacity.used_memory) == (0, 0)


def test_fractions_of_a_core_do_not_drift() -> None:
    capacity = MachineCapacity(total_cpu=1, total_memory=10)
    held = [capacity.try_acquire(0.1, 1) for _ in range(10)]
    assert all(held)
    assert capacity.try_acquire(0.001, 0) is None
    for reservation in held:
        assert reservation is not None
        reservation.release()
    assert capacity.free_cpu == 1


def test_fits_ever() -> None:
    capacity = MachineCapacity(total_cpu=4, total_memory=1024)
    assert capacity.fits_ever(4, 1024)
    assert not capacity.fits_ever(4.001, 1)
    assert not capacity.fits_ever(1, 1025)
    capacity.try_acquire(4, 1024)
    assert capacity.fits_ever(1, 1)  # about the machine, not about what is free now


def test_negative_requests_are_refused() -> None:
    capacity = MachineCapacity(total_cpu=1, total_memory=1)
    with pytest.raises(ValueError):
        capacity.try_acquire(-1, 0)
    with pytest.raises(ValueError):
        capacity.try_acquire(0, -1)


@pytest.mark.parametrize(("cpu", "memory", "limit"), [(1.0, 1, 3), (0.1, 250, 4)])
def test_never_oversubscribed_under_racing_threads(cpu: float, memory: int, limit: int) -> None:
    capacity = MachineCapacity(total_cpu=3, total_memory=1000)
    holders = 0
    most = 0
    acquired = 0
    count_lock = threading.Lock()
    start = threading.Barrier(20)

    def worker() -> None:
        nonlocal holders, most, acquired
        start.wait()
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            reservation = capacity.try_acquire(cpu, memory)
            if reservation is None:
                continue
            with count_lock:
                holders += 1
                most = max(most, holders)
                acquired += 1
            time.sleep(0.0005)
            with count_lock:
                holders -= 1
            reservation.release()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == limit  # full, and never more
    assert acquired > limit
    assert (capacity.used_cpu, capacity.used_memory) == (0, 0)


def test_too_big_names_the_service_and_its_request() -> None:
    from sluice.capacity import too_big
    from sluice.domain.service import parse_service

    capacity = MachineCapacity(total_cpu=2, total_memory=1024**3)
    small = parse_service({"name": "small", "script": "x", "cpu": "2", "memory": "1Gi"})
    big = parse_service({"name": "big", "script": "x", "cpu": "3", "memory": "64Mi"})
    assert too_big(small, capacity) is None
    reason = too_big(big, capacity)
    assert reason == (
        "service 'big' asks for 3 CPU and 64Mi memory per job, more than this machine has for jobs"
    )


def test_reclaimers_free_idle_capacity_for_a_request_that_does_not_fit() -> None:
    machine = MachineCapacity(total_cpu=1, total_memory=1000)
    capacity = ReclaimingCapacity(machine)
    idle = [machine.try_acquire(0.5, 100), machine.try_acquire(0.5, 100)]
    asked: list[int] = []

    def give_back_one() -> bool:
        asked.append(len(idle))
        held = [r for r in idle if r is not None and not r.released]
        if not held:
            return False
        held[0].release()
        return True

    capacity.add_reclaimer(give_back_one)
    reservation = capacity.try_acquire(1, 100)  # needs both idle holders gone
    assert isinstance(reservation, Reservation)
    assert len(asked) == 2 and all(r is not None and r.released for r in idle)
    assert capacity.try_acquire(0.1, 1) is None  # nothing left to reclaim: no wait, no loop
    assert capacity.try_acquire(2, 1) is None  # could never fit: nobody is asked
    assert len(asked) == 3
    reservation.release()
    assert capacity.free_cpu == 1
