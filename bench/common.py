"""Shared pieces of the benchmarks: a real ``sluice up``, a bare SeaweedFS, the ledger read
directly, CPU and memory accounting per process, timing helpers and the machine's load.

Every server binds 127.0.0.1 on a free port and is stopped by its own pid.
"""

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import psutil
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
FACES = ROOT / "examples" / "faces"
HANDLERS = BENCH / "handlers"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(FACES))

from tests.sluice_process import SluiceProcess, free_port  # noqa: E402
from tests.sluice_process import running_sluice as start_sluice  # noqa: E402

from sluice.storage.embedded import EmbeddedSeaweedFS  # noqa: E402
from sluice.storage.s3 import build_s3_client  # noqa: E402

# The script every file-triggered benchmark runs per file: copy the input to the output.
COPY_SCRIPT = '#!/bin/sh\ncp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/"\n'
TERMINAL = ("Succeeded", "Failed")


# --- the machine ---------------------------------------------------------------------------


def conditions() -> dict[str, Any]:
    """What the machine was doing: a reader of the numbers needs it (2 shared cores)."""
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "uptime": uptime.strip(),
        "loadavg_1_5_15": [round(v, 2) for v in os.getloadavg()],
        "cpu_count": os.cpu_count(),
    }


def git_commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def report(result: dict[str, Any], started: dict[str, Any]) -> None:
    """Print the one JSON document of a benchmark, with the load before and after it."""
    document = {
        "benchmark": Path(sys.argv[0]).stem,
        "argv": sys.argv[1:],
        "commit": git_commit(),
        "load_before": started,
        "load_after": conditions(),
        **result,
    }
    print(json.dumps(document, indent=2))


def open_interpreter_folders() -> None:
    """Sandboxed jobs and handler workers run as an unprivileged user and call the interpreter
    Sluice runs on: every folder above it must let others pass (as ``scripts/test`` does)."""
    folder = Path(os.path.realpath(sys.executable)).parent
    while folder != folder.parent:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod(mode | 0o001)
        folder = folder.parent


# --- servers -------------------------------------------------------------------------------


@contextmanager
def running_sluice(env: dict[str, str] | None = None) -> Iterator[SluiceProcess]:
    """A ``sluice up`` on a throw-away data dir (open to the sandboxed job user)."""
    open_interpreter_folders()
    with tempfile.TemporaryDirectory(prefix="sluice-bench-") as tmp:
        Path(tmp).chmod(0o711)
        with start_sluice(Path(tmp) / "data", env) as server:
            yield server


@contextmanager
def bare_seaweedfs() -> Iterator[EmbeddedSeaweedFS]:
    """A fresh ``weed mini`` (as tests/servers.py starts one), with no manager and no events."""
    with tempfile.TemporaryDirectory(prefix="weed-bench-") as tmp:
        store = EmbeddedSeaweedFS(Path(tmp), s3_port=free_port())
        store.start()
        try:
            yield store
        finally:
            store.stop()


def store_client(store: EmbeddedSeaweedFS, **options: Any) -> Any:
    """boto3, built as Sluice builds it."""
    creds = store.credentials
    return build_s3_client(store.endpoint, creds.access_key, creds.secret_key, **options)


def weed_pid(server: SluiceProcess) -> int:
    """The embedded SeaweedFS of a running ``sluice up``."""
    return int((server.data_dir / "seaweedfs" / "weed.pid").read_text().strip())


def manager_pid(server: SluiceProcess) -> int:
    assert server.process is not None
    return server.process.pid


def create_service(http: Any, body: dict[str, Any]) -> None:
    response = http.post("/system/services", json=body)
    if response.status_code >= 400:
        raise SystemExit(f"cannot create service {body['name']}: {response.text}")


def sluice_s3_client(http: Any, pool: int = 10) -> Any:
    """boto3 built from what ``/system/config`` advertises, as a user's uploader would be."""
    cfg = http.get("/system/config").json()["minio_provider"]
    return boto3.client(
        "s3",
        endpoint_url=cfg["endpoint"],
        aws_access_key_id=cfg["access_key"],
        aws_secret_access_key=cfg["secret_key"],
        region_name=cfg["region"],
        config=Config(max_pool_connections=max(10, pool)),
    )


def add_sluice_env_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sluice-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable for sluice up (repeatable), for example GOMEMLIMIT=64MiB",
    )


def sluice_env(args: argparse.Namespace) -> dict[str, str]:
    pairs = [item.split("=", 1) for item in args.sluice_env]
    if any(len(pair) != 2 for pair in pairs):
        raise SystemExit("--sluice-env takes NAME=VALUE")
    return dict((name, value) for name, value in pairs)


def wait_warm(http: Any, service: str, workers: int, timeout: float = 120) -> None:
    """Until a handler service has ``workers`` warm workers ready."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = http.get(f"/system/services/{service}/deployment").json()
        if body.get("state") == "ready" and body.get("active_instances", 0) >= workers:
            return
        time.sleep(0.2)
    raise SystemExit(f"{service}: workers not ready after {timeout} s: {body}")


# --- the ledger, read directly (no request to the manager, no bucket listing) -------------


class Ledger:
    """Sluice's SQLite ledger opened read-only beside the running manager (WAL mode)."""

    def __init__(self, data_dir: Path) -> None:
        uri = f"file:{data_dir / 'sluice.db'}?mode=ro"
        self._db = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)

    def counts(self, service: str) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT status, count(*) FROM jobs WHERE service = ? GROUP BY status", (service,)
        )
        return dict(rows.fetchall())

    def times(self, service: str) -> dict[str, tuple[float | None, float | None]]:
        """Per input key: when its (last) attempt started and when its job was recorded
        finished, which is after its outputs were uploaded; epoch seconds."""
        rows = self._db.execute(
            "SELECT object_key, started_at, finished_at FROM jobs WHERE service = ?", (service,)
        )
        return {key: (_epoch(started), _epoch(finished)) for key, started, finished in rows}

    def created(self, service: str) -> dict[str, float | None]:
        """Per input key: when its job was recorded (its upload's event reached the ledger)."""
        query = "SELECT object_key, created_at FROM jobs WHERE service = ?"
        rows = self._db.execute(query, (service,))
        return {key: _epoch(created) for key, created in rows}

    def wait_done(self, service: str, expected: int, timeout: float) -> dict[str, int]:
        """Poll (every 20 ms) until ``expected`` jobs of ``service`` are Succeeded or Failed."""
        deadline = time.monotonic() + timeout
        while True:
            counts = self.counts(service)
            if sum(counts.get(s, 0) for s in TERMINAL) >= expected:
                return counts
            if time.monotonic() > deadline:
                raise SystemExit(f"{service}: only {counts} after {timeout} s")
            time.sleep(0.02)

    def close(self) -> None:
        self._db.close()


def _epoch(stamp: str | None) -> float | None:
    if stamp is None:
        return None
    parsed = datetime.fromisoformat(stamp)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # SQLite keeps Sluice's UTC times naive
    return parsed.timestamp()


# --- CPU and memory, from the kernel's own accounting ------------------------------------


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds (user + system) of one process and of its reaped children, by the kernel."""

    own: float
    children: float


def cpu_of(pid: int) -> CpuSample:
    times = psutil.Process(pid).cpu_times()
    return CpuSample(times.user + times.system, times.children_user + times.children_system)


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent not idle, all cores together."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def self_cpu_s() -> float:
    """This benchmark process's CPU seconds, all its threads (the uploading client)."""
    return time.process_time()


class StackCpu:
    """CPU of a running Sluice over a window, split into the manager process alone, its object
    store, and the jobs and workers it started (every other process below the manager).

    Finished jobs are in the manager's reaped-children times; live processes (warm workers)
    are counted one by one with their own reaped children. Also the benchmark's own process
    (the uploading client) and the rest of the machine, so a reader sees the interference.
    """

    def __init__(self, manager: int, store: int, extra: dict[str, int] | None = None) -> None:
        self.manager, self.store = manager, store
        self.extra = extra or {}  # more processes measured on their own (a broker)
        self._start: dict[str, float] = {}
        self._live: dict[tuple[int, float], float] = {}

    def _live_processes(self) -> dict[tuple[int, float], float]:
        live: dict[tuple[int, float], float] = {}
        for child in psutil.Process(self.manager).children(recursive=True):
            try:
                if child.pid == self.store or self.store in {p.pid for p in child.parents()}:
                    continue
                times = child.cpu_times()
                own = times.user + times.system + times.children_user + times.children_system
                live[(child.pid, child.create_time())] = own
            except psutil.NoSuchProcess:
                continue
        return live

    def _snapshot(self) -> tuple[dict[str, float], dict[tuple[int, float], float]]:
        manager, store = cpu_of(self.manager), cpu_of(self.store)
        values = {
            "manager": manager.own,
            "reaped": manager.children,
            "store": store.own + store.children,
            "machine": machine_busy_s(),
            "bench_client": self_cpu_s(),
        }
        for name, pid in self.extra.items():
            sample = cpu_of(pid)
            values[name] = sample.own + sample.children
        return values, self._live_processes()

    def start(self) -> None:
        self._start, self._live = self._snapshot()

    def stop(self) -> dict[str, float]:
        """CPU seconds spent since :meth:`start`, by whom."""
        end, live = self._snapshot()
        spent = {k: end[k] - self._start[k] for k in end}
        running = sum(v - self._live.get(k, 0.0) for k, v in live.items())
        jobs = spent["reaped"] + running
        extra = {f"{name}_s": spent[name] for name in self.extra}
        ours = spent["manager"] + spent["store"] + jobs + spent["bench_client"]
        ours += sum(extra.values())
        return {
            "manager_s": spent["manager"],
            "object_store_s": spent["store"],
            "jobs_and_workers_s": jobs,
            **extra,
            "bench_client_s": spent["bench_client"],
            "machine_busy_s": spent["machine"],
            "other_processes_s": spent["machine"] - ours,
        }


def idle_cpu_ms_per_s(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """CPU ms per second each process spends over ``seconds`` of doing nothing asked of it
    (its background work: timers, heartbeats, a garbage collector near its limit)."""
    before = {name: cpu_of(pid).own for name, pid in pids.items()}
    time.sleep(seconds)
    return {
        name: round(1000 * (cpu_of(pid).own - before[name]) / seconds, 1)
        for name, pid in pids.items()
    }


def wait_quiet(pid: int, window_s: float = 0.5, quiet_ms: float = 15, timeout: float = 30) -> float:
    """Wait until a process spends under ``quiet_ms`` of CPU in ``window_s`` (its tail of work,
    such as events still queued for it, is done); returns the seconds waited."""
    start = time.monotonic()
    before = cpu_of(pid).own
    while time.monotonic() - start < timeout:
        time.sleep(window_s)
        now = cpu_of(pid).own
        if 1000 * (now - before) < quiet_ms:
            break
        before = now
    return time.monotonic() - start


def per_file_ms(cpu_s: dict[str, float], files: int) -> dict[str, float]:
    return {k.removesuffix("_s") + "_ms_per_file": 1000 * v / files for k, v in cpu_s.items()}


def pss_kib(pid: int) -> int:
    """Proportional set size of one process (its share of shared pages), in KiB."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Pss line in /proc/{pid}/smaps_rollup")


def rss_kib(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss // 1024


# --- statistics and timing ---------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary_ms(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(1000 * statistics.median(samples), 3),
        "p99_ms": round(1000 * percentile(samples, 0.99), 3),
    }


def latency_ms(name: str, samples: Iterable[float]) -> dict[str, float | None]:
    """``<name>_p50_ms`` and ``<name>_p95_ms`` of seconds samples."""
    values = list(samples)
    if not values:
        return {f"{name}_p50_ms": None, f"{name}_p95_ms": None}
    return {
        f"{name}_p50_ms": round(1000 * statistics.median(values), 2),
        f"{name}_p95_ms": round(1000 * percentile(values, 0.95), 2),
    }


def median_of(rounds: list[dict[str, Any]], spread: bool = True) -> dict[str, Any]:
    """The median of each number across rounds (nested dicts too, rounded); ``spread`` holds
    [min, max] of each top-level number that differed between rounds."""
    medians: dict[str, Any] = {}
    ranges: dict[str, list[float]] = {}
    for key, first in rounds[0].items():
        if isinstance(first, dict):
            medians[key] = median_of([r[key] for r in rounds], spread=False)
            continue
        values = [r[key] for r in rounds if _is_number(r.get(key))]
        if not values:
            if all(r.get(key) == first for r in rounds):
                medians[key] = first  # a setting or a null, the same in every round
            continue
        medians[key] = round(statistics.median(values), 3)
        if spread and min(values) != max(values):
            ranges[key] = [min(values), max(values)]
    if ranges:
        medians["spread"] = ranges
    return medians


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def rounded(values: dict[str, Any], digits: int = 3) -> dict[str, Any]:
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in values.items()}
