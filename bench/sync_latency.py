"""Benchmark: latency of synchronous ``POST /run`` calls against doing the same work directly.

Warm p50/p99 for a trivial script service and for the face-blurring handler service, the cold
start of a handler service scaled to zero, and as baselines the same work run directly (the
script as a process, the handler as a function call in a process that loaded the model once).

    .venv/bin/python bench/sync_latency.py --calls 200
"""

import argparse
import base64
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import FACES, running_sluice, summary_ms, timed

SCRIPT = 'cat "$INPUT_FILE_PATH"'


def services(server_url: str) -> list[dict[str, Any]]:
    faces = {"pythonpath": [str(FACES)], "memory": "512Mi", "cpu": "0.5"}
    return [
        {"name": "echo", "script": SCRIPT, "log_level": "CRITICAL", "memory": "32Mi"},
        {
            "name": "blur",
            "handler": "blur:blur",
            "init": "blur:load",
            "synchronous": {"min_scale": 1, "max_scale": 1},
            **faces,
        },
        {"name": "blur-cold", "handler": "blur:blur", "init": "blur:load", **faces},
    ]


def caller(http: httpx.Client, service: str, body: bytes) -> Any:
    token = http.get(f"/system/services/{service}").json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    def call() -> None:
        response = http.post(f"/run/{service}", content=body, headers=headers, auth=None)
        response.raise_for_status()

    return call


def direct_script(calls: int, image: Path) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"PATH": "/usr/bin:/bin", "INPUT_FILE_PATH": str(image), "TMP_OUTPUT_DIR": tmp}
        return timed(
            lambda: subprocess.run(
                ["/bin/sh", "-c", SCRIPT], env=env, capture_output=True, check=True
            ),
            calls,
        )


def direct_handler(calls: int, image: Path) -> list[float]:
    import blur

    detector = blur.load()
    with tempfile.TemporaryDirectory() as tmp:
        return timed(lambda: blur.blur(str(image), tmp, detector), calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    from sample_images import write_samples

    image = write_samples(Path(tempfile.mkdtemp()))[0]
    body = base64.b64encode(image.read_bytes())
    result: dict[str, Any] = {"calls": args.calls}
    with running_sluice({"SLUICE_WORKER_IDLE_TIMEOUT": "2"}) as server, server.client() as http:
        for service in services(server.url):
            http.post("/system/services", json=service).raise_for_status()
        echo, blur = caller(http, "echo", b"aGVsbG8="), caller(http, "blur", body)
        echo(), blur()  # first calls out of the way
        result["script_warm"] = summary_ms(timed(echo, args.calls))
        result["handler_warm"] = summary_ms(timed(blur, args.calls))
        cold = caller(http, "blur-cold", body)
        cold_samples = []
        for _ in range(3):
            time.sleep(3)  # past the idle timeout: the pool is back to zero workers
            cold_samples += timed(cold, 1)
        result["handler_cold_start_ms"] = 1000 * min(cold_samples)
    result["script_direct"] = summary_ms(direct_script(args.calls, image))
    result["handler_direct"] = summary_ms(direct_handler(args.calls, image))
    for kind in ("script", "handler"):
        warm, direct = result[f"{kind}_warm"]["p50_ms"], result[f"{kind}_direct"]["p50_ms"]
        result[f"{kind}_overhead_p50_ms"] = warm - direct
        result[f"{kind}_warm_vs_direct_p50"] = warm / direct
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
