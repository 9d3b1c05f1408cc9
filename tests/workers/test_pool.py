"""WorkerPool with real worker processes and a real MachineCapacity."""

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sluice.capacity import MachineCapacity, Reservation
from sluice.errors import BackendError
from sluice.workers.pool import NoWorkerFree, PoolStats, WorkerPool
from sluice.workers.worker import HandlerWorker
from tests.workers.conftest import MiB, SpecFactory, write_input

MakePool = Callable[..., WorkerPool]


@pytest.fixture
def capacity() -> MachineCapacity:
    return MachineCapacity(total_cpu=64, total_memory=64 * 1024 * MiB)


@pytest.fixture
def make_pool(make_spec: SpecFactory, capacity: MachineCapacity) -> Iterator[MakePool]:
    pools: list[WorkerPool] = []

    def make(
        handler: str = "echo",
        *,
        min_scale: int = 0,
        max_scale: int = 4,
        idle_timeout: float = 30,
        reserve: Callable[[], Reservation | None] | None = None,
        start: bool = True,
    ) -> WorkerPool:
        spec = make_spec(handler)
        pool = WorkerPool(
            lambda: HandlerWorker(spec),
            min_scale=min_scale,
            max_scale=max_scale,
            idle_timeout=idle_timeout,
            reserve=reserve or (lambda: capacity.try_acquire(0.5, 64 * MiB)),
        )
        pools.append(pool)
        if start:
            pool.start()
        return pool

    yield make
    for pool in pools:
        pool.close()


def wait_for(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def call_in_threads(pool: WorkerPool, item: tuple[Path, Path], count: int) -> list[str]:
    """``count`` concurrent acquire-and-call rounds; the texts they got back."""
    texts: list[str] = []

    def one() -> None:
        with pool.acquire(timeout=30) as worker:
            [result] = worker.call([item], timeout=10)
            texts.append(str(result.text))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return texts


def test_20_concurrent_acquires_never_exceed_max_scale(tmp_path: Path, make_pool: MakePool) -> None:
    pool = make_pool("sleepy", max_scale=4)
    texts = call_in_threads(pool, write_input(tmp_path, "a", "0.1"), 20)
    assert texts == ["awake"] * 20
    stats = pool.stats()
    assert 1 <= stats.peak_live <= 4
    assert stats.spawned <= 4
    assert (stats.live, stats.busy, stats.idle) == (stats.spawned, 0, stats.spawned)
    init_pids = (tmp_path / "init.log").read_text().split()
    assert len(init_pids) == len(set(init_pids)) == stats.spawned  # init once per worker


def test_start_keeps_min_scale_warm(tmp_path: Path, make_pool: MakePool) -> None:
    pool = make_pool(min_scale=2, max_scale=3)
    assert pool.stats() == PoolStats(live=2, busy=0, idle=2, starting=0, peak_live=2, spawned=2)
    assert len((tmp_path / "init.log").read_text().split()) == 2


def test_idle_workers_scale_down_to_min_scale(tmp_path: Path, make_pool: MakePool) -> None:
    pool = make_pool("sleepy", min_scale=1, max_scale=3, idle_timeout=0.3)
    call_in_threads(pool, write_input(tmp_path, "a", "0.3"), 3)
    assert pool.stats().peak_live == 3
    wait_for(lambda: pool.stats().live == 1)
    time.sleep(0.5)
    assert pool.stats().live == 1


def test_min_scale_zero_scales_to_zero(
    tmp_path: Path, make_pool: MakePool, capacity: MachineCapacity
) -> None:
    pool = make_pool(min_scale=0, idle_timeout=0.2)
    assert pool.stats().live == 0
    with pool.acquire(timeout=10) as worker:
        [result] = worker.call([write_input(tmp_path, "a", "x")])
        assert result.text == "model:x"
        assert capacity.used_memory == 64 * MiB  # the worker holds its reservation
    wait_for(lambda: pool.stats().live == 0)
    wait_for(lambda: capacity.used_memory == 0)  # released once the process is gone


def test_reserve_caps_growth(tmp_path: Path, make_pool: MakePool) -> None:
    small = MachineCapacity(total_cpu=2, total_memory=1024 * MiB)
    pool = make_pool(
        "sleepy", max_scale=0, reserve=lambda: small.try_acquire(1, 64 * MiB), idle_timeout=30
    )
    texts = call_in_threads(pool, write_input(tmp_path, "a", "0.2"), 6)
    assert texts == ["awake"] * 6
    assert pool.stats().peak_live == 2
    assert small.free_cpu == 0


def test_acquire_times_out_when_every_worker_is_busy(make_pool: MakePool) -> None:
    pool = make_pool(max_scale=1)
    with pool.acquire(timeout=10):
        started = time.monotonic()
        with pytest.raises(NoWorkerFree, match=r"no worker free within 0.3 s"), pool.acquire(0.3):
            pass
        assert 0.3 <= time.monotonic() - started < 2


def test_a_crashed_worker_is_replaced(tmp_path: Path, make_pool: MakePool) -> None:
    pool = make_pool("crash", min_scale=1, max_scale=1)
    with pool.acquire(timeout=10) as worker:
        first_pid = worker.pid
        [result] = worker.call([write_input(tmp_path, "a", "")])
    assert result.error == "worker crashed: exit code 1"
    wait_for(lambda: pool.stats().idle == 1)  # the reaper keeps min_scale warm
    with pool.acquire(timeout=10) as worker:
        assert worker.alive and worker.pid != first_pid
    assert pool.stats().spawned == 2


def test_a_worker_that_died_while_idle_is_not_handed_out(make_pool: MakePool) -> None:
    pool = make_pool(min_scale=1, max_scale=1)
    with pool.acquire(timeout=10) as worker:
        first = worker
    first.close()
    with pool.acquire(timeout=10) as worker:
        assert worker is not first and worker.alive


def test_a_failing_start_reaches_the_caller_and_frees_capacity(
    make_spec: SpecFactory, capacity: MachineCapacity
) -> None:
    spec = make_spec("echo", init="handlers:init_fails")
    pool = WorkerPool(
        lambda: HandlerWorker(spec),
        min_scale=0,
        max_scale=2,
        idle_timeout=30,
        reserve=lambda: capacity.try_acquire(1, MiB),
    )
    pool.start()
    try:
        with pytest.raises(BackendError, match="no model here"), pool.acquire(timeout=10):
            pass
        assert pool.stats().live == 0
        assert capacity.used_cpu == 0
    finally:
        pool.close()
    with pytest.raises(BackendError, match="no model here"):
        WorkerPool(
            lambda: HandlerWorker(spec),
            min_scale=1,
            max_scale=1,
            idle_timeout=30,
            reserve=lambda: capacity.try_acquire(1, MiB),
        ).start()
    assert capacity.used_cpu == 0


def test_close_ends_every_worker_and_frees_capacity(
    make_pool: MakePool, capacity: MachineCapacity
) -> None:
    pool = make_pool(min_scale=2)
    with pool.acquire(timeout=10) as worker:
        pass
    pool.close()
    assert not worker.alive
    assert pool.stats().live == 0
    assert capacity.used_memory == 0
    with pytest.raises(BackendError, match="closed"), pool.acquire(timeout=1):
        pass


def test_close_cuts_a_slow_start_short(make_spec: SpecFactory, capacity: MachineCapacity) -> None:
    spec = make_spec("echo", init="handlers:init_sleeps")
    pool = WorkerPool(
        lambda: HandlerWorker(spec),
        min_scale=0,
        max_scale=1,
        idle_timeout=30,
        reserve=lambda: capacity.try_acquire(1, MiB),
    )
    pool.start()
    errors: list[BaseException] = []

    def acquire() -> None:
        try:
            with pool.acquire(timeout=30):
                pass
        except BackendError as exc:
            errors.append(exc)

    thread = threading.Thread(target=acquire)
    thread.start()
    wait_for(lambda: pool.stats().starting == 1)
    time.sleep(0.2)
    started = time.monotonic()
    pool.close()
    thread.join(timeout=5)
    assert time.monotonic() - started < 3
    assert len(errors) == 1 and "did not start" in str(errors[0])
    assert capacity.used_cpu == 0


class InstantWorker:
    """Starts at once and answers at once: many threads race through the pool's bookkeeping."""

    def __init__(self) -> None:
        self.alive = True
        self.spec = type("Spec", (), {"service": "instant", "handler": "none"})()

    def start(self, timeout: float) -> None:
        time.sleep(0.001)

    def close(self) -> None:
        self.alive = False


class SlowLog:
    """A logger that takes its time: it widens any gap in the pool's bookkeeping after a
    worker has started, where another thread might see the pool one worker short."""

    def info(self, *args: object) -> None:
        time.sleep(0.02)

    warning = exception = info


def test_workers_that_start_at_once_never_exceed_max_scale(
    capacity: MachineCapacity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sluice.workers.pool.log", SlowLog())
    pool = WorkerPool(
        InstantWorker,  # type: ignore[arg-type]
        min_scale=0,
        max_scale=4,
        idle_timeout=30,
        reserve=lambda: capacity.try_acquire(0.5, 64 * MiB),
    )
    pool.start()
    busiest = 0
    lock = threading.Lock()

    def rounds() -> None:
        nonlocal busiest
        for _ in range(20):
            with pool.acquire(timeout=30):
                with lock:
                    busiest = max(busiest, pool.stats().busy)
                time.sleep(0.001)

    threads = [threading.Thread(target=rounds) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert pool.stats().spawned <= 4
        assert busiest <= 4
        assert capacity.used_cpu == 0.5 * pool.stats().live
    finally:
        pool.close()
    assert capacity.used_cpu == 0


def test_shed_idle_gives_back_capacity_above_min_scale_only(
    tmp_path: Path, make_pool: MakePool, capacity: MachineCapacity
) -> None:
    pool = make_pool("sleepy", min_scale=1, max_scale=3)
    call_in_threads(pool, write_input(tmp_path, "a", "0.5"), 3)  # 3 at once: 3 workers
    wait_for(lambda: pool.stats().idle == pool.stats().live >= 2)
    live = pool.stats().live
    assert not pool.shed_idle(idle_for=60)  # none idle that long
    assert pool.shed_idle(idle_for=0)
    assert pool.stats().live == live - 1
    assert capacity.used_cpu == 0.5 * (live - 1)  # given back at once
    while pool.stats().live > 1:
        assert pool.shed_idle(idle_for=0)
    assert not pool.shed_idle(idle_for=0)  # min_scale stays warm
    with pool.acquire(timeout=10) as worker:
        assert worker.alive
