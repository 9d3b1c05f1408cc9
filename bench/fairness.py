"""Benchmark: is the API still quick while a caller keeps many long /run calls in flight?

Measures ``GET /health`` and ``GET /system/services`` latency (p50/p99) while ``--calls``
synchronous calls that each sleep ``--sleep`` seconds are running, against the same requests
with nothing running (the anchor, measured first in the same run).

    .venv/bin/python bench/fairness.py --calls 45
"""

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from common import conditions, create_service, latency_ms, percentile, report, running_sluice


def probe(url: str, auth: tuple[str, str], rounds: int) -> dict[str, Any]:
    health, listing = [], []
    with httpx.Client(auth=auth, timeout=30) as client:
        for _ in range(rounds):
            start = time.perf_counter()
            client.get(f"{url}/health").raise_for_status()
            health.append(time.perf_counter() - start)
            start = time.perf_counter()
            client.get(f"{url}/system/services").raise_for_status()
            listing.append(time.perf_counter() - start)
            time.sleep(0.02)
    return {
        **latency_ms("health", health),
        "health_p99_ms": round(1000 * percentile(health, 0.99), 2),
        **latency_ms("services", listing),
        "services_p99_ms": round(1000 * percentile(listing, 0.99), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=45, help="long /run calls in flight")
    parser.add_argument("--sleep", type=float, default=15.0, help="seconds each call runs")
    parser.add_argument("--rounds", type=int, default=100, help="probes of each route")
    args = parser.parse_args()
    started = conditions()
    with running_sluice() as server:
        http = server.client()
        body = {
            "name": "sleepy",
            "script": f"sleep {args.sleep}; echo slept",
            "cpu": "0.01",
            "memory": "16Mi",
            "log_level": "CRITICAL",
            "synchronous": {"max_scale": args.calls},
        }
        create_service(http, body)
        auth = (server.user, server.password or "")
        idle = probe(server.url, auth, args.rounds)
        with ThreadPoolExecutor(args.calls) as pool, httpx.Client(auth=auth, timeout=600) as c:
            calls = [
                pool.submit(c.post, f"{server.url}/run/sleepy", content=b"eA==")
                for _ in range(args.calls)
            ]
            time.sleep(2)  # every call is running
            busy = probe(server.url, auth, args.rounds)
            in_flight = sum(not call.done() for call in calls)
            answered = [call.result().status_code for call in calls]
    result = {
        "calls_in_flight_while_probing": in_flight,
        "calls_answered_200": answered.count(200),
        "idle": idle,
        "with_calls_in_flight": busy,
        "health_p99_ratio": busy["health_p99_ms"] / idle["health_p99_ms"],
        "services_p99_ratio": busy["services_p99_ms"] / idle["services_p99_ms"],
    }
    report(result, started)


if __name__ == "__main__":
    main()
