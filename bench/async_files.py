"""Benchmark: N small uploads through the file-triggered path on the embedded defaults.

Prints JSON: end-to-end files/s, p50/p95 latency from upload to job start and to output
visible, and as the baseline the same script run directly N times in a loop.

    .venv/bin/python bench/async_files.py --files 500
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from common import percentile, running_sluice
from tests.e2e.helpers import s3_client
from tests.sluice_process import SluiceProcess

SCRIPT = '#!/bin/sh\ncp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/"\n'


def baseline(files: int, workdir: Path) -> float:
    """The same script, run directly with the same environment contract, in a loop."""
    script = workdir / "script.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    source, out = workdir / "in.txt", workdir / "out"
    source.write_text("x")
    out.mkdir()
    env = {"PATH": os.environ["PATH"], "INPUT_FILE_PATH": str(source), "TMP_OUTPUT_DIR": str(out)}
    start = time.perf_counter()
    for _ in range(files):
        subprocess.run([str(script)], env=env, check=True)
    return time.perf_counter() - start


def watch_outputs(s3: Any, expected: int, seen: dict[str, float], stop: threading.Event) -> None:
    paginator = s3.get_paginator("list_objects_v2")
    while not stop.is_set() and len(seen) < expected:
        for page in paginator.paginate(Bucket="bench", Prefix="out/"):
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/"):
                    seen.setdefault(item["Key"].removeprefix("out/"), time.time())
        time.sleep(0.2)  # listing hundreds of keys costs CPU the jobs share


def run(files: int, concurrency: int) -> dict[str, Any]:
    with running_sluice() as server:
        result = measure(server, files, concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        return result | {"baseline_direct_loop_s": baseline(files, Path(tmp))}


def measure(server: SluiceProcess, files: int, concurrency: int) -> dict[str, Any]:
    http = server.client()
    body = {
        "name": "bench",
        "cpu": "0.1",
        "memory": "32Mi",
        "script": SCRIPT,
        "input": [{"path": "bench/in"}],
        "output": [{"path": "bench/out"}],
    }
    http.post("/system/services", json=body).raise_for_status()
    s3 = s3_client(http)
    uploaded: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=watch_outputs, args=(s3, files, seen, stop))
    watcher.start()

    def put(i: int) -> None:
        name = f"f{i:05d}.txt"
        uploaded[name] = time.time()
        s3.put_object(Bucket="bench", Key=f"in/{name}", Body=b"x")

    start = time.time()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(put, range(files)))
    watcher.join(timeout=600)
    stop.set()
    elapsed = max(seen.values()) - start
    started = job_start_times(http)
    to_start = [started[k] - uploaded[k] for k in uploaded if k in started]
    to_output = [seen[k] - uploaded[k] for k in uploaded if k in seen]
    return {
        "files": files,
        "outputs_seen": len(seen),
        "end_to_end_s": elapsed,
        "files_per_s": files / elapsed,
        "upload_to_start_p50_ms": 1000 * statistics.median(to_start),
        "upload_to_start_p95_ms": 1000 * percentile(to_start, 0.95),
        "upload_to_output_p50_ms": 1000 * statistics.median(to_output),
        "upload_to_output_p95_ms": 1000 * percentile(to_output, 0.95),
    }


def job_start_times(http: Any) -> dict[str, float]:
    starts: dict[str, float] = {}
    page = ""
    while True:
        body = http.get("/system/jobs/bench", params={"page": page}).json()
        for job in body["jobs"]:
            name = job["input"].rsplit("/", 1)[-1]
            started = datetime.fromisoformat(job["start_time"].replace("Z", "+00:00"))
            starts[name] = started.timestamp()
        page = body["next_page"]
        if not page:
            return starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8, help="parallel uploads")
    args = parser.parse_args()
    result = run(args.files, args.concurrency)
    result["baseline_files_per_s"] = args.files / result["baseline_direct_loop_s"]
    result["sluice_vs_direct_loop"] = result["files_per_s"] / result["baseline_files_per_s"]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
