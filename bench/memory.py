"""Benchmark: the memory of the embedded stack (the manager and its SeaweedFS), by phase.

PSS (proportional set size: private pages plus a share of the shared ones, from
``/proc/<pid>/smaps_rollup``) of the ``sluice up`` process and of its ``weed mini``, and their
sum, at three points of one run:

1. ``idle``: after start, before any service exists;
2. ``after_files``: after ``--files`` one-byte files went through a copy-script service;
3. ``after_large``: after one ``--large-mb`` upload (random bytes, boto3's multipart upload) to
   a path no service watches (``--large-to-input``: to the service's input, so a job also
   downloads it and uploads its copy).

Each point is read ``--settle`` seconds after the phase ends. RSS and the peak RSS so far
(VmHWM) are reported beside PSS; jobs or workers alive at a point are summed apart, and so
is the CPU the manager and the store spent while settling (a store's heap capped too tightly
shows up there as a collector that never rests). The anchor is the idle point of the same run.

    .venv/bin/python bench/memory.py --files 500 --large-mb 200
"""

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import common
import psutil
from boto3.s3.transfer import TransferConfig

SERVICE = "mem"
MIB = 1024 * 1024


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def process_memory(pid: int) -> dict[str, float]:
    return {
        "pss_mib": round(common.pss_kib(pid) / 1024, 1),
        "rss_mib": round(common.rss_kib(pid) / 1024, 1),
        "peak_rss_mib": round(peak_rss_kib(pid) / 1024, 1),
    }


def settle_and_read(manager: int, store: int, seconds: float) -> dict[str, Any]:
    """Wait ``seconds`` (measuring the CPU the two spend meanwhile), then read the memory."""
    idle = common.idle_cpu_ms_per_s({"manager": manager, "object_store": store}, seconds)
    return point(manager, store) | {"cpu_ms_per_s_while_settling": idle}


def point(manager: int, store: int) -> dict[str, Any]:
    """The stack's memory now."""
    others = 0
    for child in psutil.Process(manager).children(recursive=True):
        if child.pid != store:
            try:
                others += common.pss_kib(child.pid)
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
    mine, weed = process_memory(manager), process_memory(store)
    return {
        "manager": mine,
        "object_store": weed,
        "jobs_and_workers_pss_mib": round(others / 1024, 1),
        "manager_plus_store_pss_mib": round(mine["pss_mib"] + weed["pss_mib"], 1),
    }


def small_files(http: Any, s3: Any, ledger: common.Ledger, args: argparse.Namespace) -> float:
    common.create_service(
        http,
        {
            "name": SERVICE,
            "cpu": "0.1",
            "memory": "32Mi",
            "log_level": "CRITICAL",
            "script": common.COPY_SCRIPT,
            "input": [{"path": f"{SERVICE}/in"}],
            "output": [{"path": f"{SERVICE}/out"}],
        },
    )
    start = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(
            pool.map(
                lambda i: s3.put_object(Bucket=SERVICE, Key=f"in/f{i:05d}.txt", Body=b"x"),
                range(args.files),
            )
        )
    ledger.wait_done(SERVICE, args.files, args.timeout)
    return time.perf_counter() - start


def large_upload(s3: Any, ledger: common.Ledger, args: argparse.Namespace) -> float:
    key = "in/large.bin" if args.large_to_input else "large/large.bin"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.bin"
        with path.open("wb") as handle:
            for _ in range(args.large_mb):
                handle.write(os.urandom(MIB))
        start = time.perf_counter()
        s3.upload_file(str(path), SERVICE, key, Config=TransferConfig())
    if args.large_to_input:
        ledger.wait_done(SERVICE, args.files + 1, args.timeout)
    return time.perf_counter() - start


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8, help="parallel small uploads")
    parser.add_argument("--large-mb", type=int, default=200)
    parser.add_argument("--large-to-input", action="store_true")
    parser.add_argument("--settle", type=float, default=5, help="seconds before each reading")
    parser.add_argument("--timeout", type=float, default=600)
    common.add_sluice_env_argument(parser)
    return parser.parse_args()


def main() -> None:
    args = arguments()
    load = common.conditions()
    points: dict[str, Any] = {}
    durations: dict[str, float] = {}
    with common.running_sluice(common.sluice_env(args)) as server, server.client() as http:
        manager, store = common.manager_pid(server), common.weed_pid(server)
        points["idle"] = settle_and_read(manager, store, args.settle)
        s3 = common.sluice_s3_client(http, args.concurrency)
        ledger = common.Ledger(server.data_dir)
        durations["files_s"] = round(small_files(http, s3, ledger, args), 2)
        points["after_files"] = settle_and_read(manager, store, args.settle)
        durations["large_upload_s"] = round(large_upload(s3, ledger, args), 2)
        points["after_large"] = settle_and_read(manager, store, args.settle)
        ledger.close()
    idle = points["idle"]["manager_plus_store_pss_mib"]
    growth = {
        f"{name}_vs_idle_pss_mib": round(p["manager_plus_store_pss_mib"] - idle, 1)
        for name, p in points.items()
        if name != "idle"
    }
    common.report(
        {
            "files": args.files,
            "large_mb": args.large_mb,
            "large_to_input": args.large_to_input,
            "settle_s": args.settle,
            "sluice_env": common.sluice_env(args),
            "points": points,
            **growth,
            "durations": durations,
        },
        load,
    )


if __name__ == "__main__":
    main()
