"""Benchmark: latency of synchronous ``POST /run`` calls against doing the same work directly.

Warm p50/p99 for a trivial script service (``cat`` the input), a trivial handler service
(``bench/handlers/trivial.py:echo`` returns its input) and the face-blurring handler service,
the cold start of a handler service scaled to zero, and as baselines, in the same run, the same
work done directly: the script as a process, the handlers as function calls in this process
(the face detector loaded once). Overhead is the service's p50 minus the direct p50.

    .venv/bin/python bench/sync_latency.py --calls 200
"""

import argparse
import base64
import binascii
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
import httpx
from common import FACES, HANDLERS, conditions, report, running_sluice, summary_ms, timed

SCRIPT = 'cat "$INPUT_FILE_PATH"'


def services(server_url: str) -> list[dict[str, Any]]:
    faces = {"pythonpath": [str(FACES)], "memory": "512Mi", "cpu": "0.5"}
    return [
        {"name": "echo", "script": SCRIPT, "log_level": "CRITICAL", "memory": "32Mi"},
        {
            "name": "echo-handler",
            "handler": "trivial:echo",
            "pythonpath": [str(HANDLERS)],
            "log_level": "CRITICAL",
            "memory": "64Mi",
            "synchronous": {"min_scale": 1, "max_scale": 1},
        },
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

    def call() -> bytes:
        response = http.post(f"/run/{service}", content=body, headers=headers, auth=None)
        response.raise_for_status()
        return response.content

    return call


def check_echo(answer: bytes, sent: bytes, service: str) -> None:
    """The trivial services answer with their input (as is, or base64-encoded)."""
    try:
        decoded = base64.b64decode(answer, validate=True)
    except binascii.Error:
        decoded = b""
    if sent not in (answer.strip(), decoded):
        raise SystemExit(f"{service} answered {answer[:80]!r}, not its input {sent!r}")


def direct_script(calls: int, image: Path) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"PATH": "/usr/bin:/bin", "INPUT_FILE_PATH": str(image), "TMP_OUTPUT_DIR": tmp}
        return timed(
            lambda: subprocess.run(
                ["/bin/sh", "-c", SCRIPT], env=env, capture_output=True, check=True
            ),
            calls,
        )


def direct_trivial(calls: int, body: bytes) -> list[float]:
    sys.path.insert(0, str(HANDLERS))
    import trivial

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "input"
        source.write_bytes(body)
        return timed(lambda: trivial.echo(str(source), tmp), calls)


def direct_handler(calls: int, image: Path) -> list[float]:
    import blur

    detector = blur.load()
    with tempfile.TemporaryDirectory() as tmp:
        return timed(lambda: blur.blur(str(image), tmp, detector), calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    common.add_sluice_env_argument(parser)
    args = parser.parse_args()
    from sample_images import write_samples

    image = write_samples(Path(tempfile.mkdtemp()))[0]
    body = base64.b64encode(image.read_bytes())
    small = b"hello"
    load = conditions()
    env = {"SLUICE_WORKER_IDLE_TIMEOUT": "2", **common.sluice_env(args)}
    result: dict[str, Any] = {"calls": args.calls, "sluice_env": common.sluice_env(args)}
    with running_sluice(env) as server, server.client() as http:
        for service in services(server.url):
            http.post("/system/services", json=service).raise_for_status()
        echo, blur = caller(http, "echo", b"aGVsbG8="), caller(http, "blur", body)
        trivial = caller(http, "echo-handler", base64.b64encode(small))
        blur()  # first calls out of the way
        check_echo(echo(), b"hello", "echo")
        check_echo(trivial(), small, "echo-handler")
        result["script_warm"] = summary_ms(timed(echo, args.calls))
        result["trivial_warm"] = summary_ms(timed(trivial, args.calls))
        result["handler_warm"] = summary_ms(timed(blur, args.calls))
        cold = caller(http, "blur-cold", body)
        cold_samples = []
        for _ in range(3):
            time.sleep(3)  # past the idle timeout: the pool is back to zero workers
            cold_samples += timed(cold, 1)
        result["handler_cold_start_ms"] = round(1000 * min(cold_samples), 1)
    result["script_direct"] = summary_ms(direct_script(args.calls, image))
    result["trivial_direct"] = summary_ms(direct_trivial(args.calls, small))
    result["handler_direct"] = summary_ms(direct_handler(args.calls, image))
    for kind in ("script", "trivial", "handler"):
        warm, direct = result[f"{kind}_warm"]["p50_ms"], result[f"{kind}_direct"]["p50_ms"]
        result[f"{kind}_overhead_p50_ms"] = round(warm - direct, 3)
        result[f"{kind}_warm_vs_direct_p50"] = round(warm / direct, 3)
    report(result, load)


if __name__ == "__main__":
    main()
