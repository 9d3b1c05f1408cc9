"""Benchmark: N small uploads through the file-triggered path of a real ``sluice up``.

A service copies each input to its output: by default a shell script (``cp``), with
``--handler`` a trivial Python handler (``bench/handlers/trivial.py``) on warm workers. The
benchmark uploads N one-byte files (``--concurrency`` in parallel) to the embedded SeaweedFS
and reads progress from the ledger (SQLite, read-only, beside the manager; no request to the
manager and no bucket listing, which would cost CPU on the same cores).

Prints JSON: files/s end to end, upload→job start and upload→output p50/p95, and CPU per file
from the kernel's accounting of each process: the manager alone (``sluice up``, not its
children), the object store, the jobs (or warm workers), the uploading client and the rest of
the machine. In the same run, the anchor: the same files and the same work through Celery +
Redis with 2 worker processes (``bench/peers/celery_s3.py``), and the work alone in a loop.

    .venv/bin/python bench/async_files.py --files 500
    .venv/bin/python bench/async_files.py --files 500 --handler
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import common

SERVICE = "bench"
POOL_FULL = re.compile(r"[Cc]onnection pool is full")


def service_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": SERVICE,
        "cpu": args.service_cpu,
        "memory": args.service_memory,
        "log_level": "CRITICAL",
        "input": [{"path": f"{SERVICE}/in"}],
        "output": [{"path": f"{SERVICE}/out"}],
    }
    if not args.handler:
        return body | {"script": common.COPY_SCRIPT}
    return body | {
        "handler": "trivial:copy_input",
        "pythonpath": [str(common.HANDLERS)],
        "batch_size": args.batch_size,
        "batch_wait_ms": args.batch_wait_ms,
        "synchronous": {"min_scale": args.workers, "max_scale": args.workers},
    }


def upload(s3: Any, names: list[str], concurrency: int, rate: float = 0) -> dict[str, float]:
    """Upload one-byte files under ``in/``, at most ``rate`` a second when it is not 0; when
    each upload was sent, by key."""
    sent: dict[str, float] = {}
    begin, position = time.time(), {name: n for n, name in enumerate(names)}

    def put(name: str) -> None:
        key = f"in/{name}"
        if rate:
            time.sleep(max(0.0, begin + position[name] / rate - time.time()))
        sent[key] = time.time()
        s3.put_object(Bucket=SERVICE, Key=key, Body=b"x")

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(put, names))
    return sent


def sluice_round(args: argparse.Namespace) -> dict[str, Any]:
    """One measured run on a fresh ``sluice up``."""
    with common.running_sluice(common.sluice_env(args)) as server, server.client() as http:
        common.create_service(http, service_body(args))
        if args.handler:
            common.wait_warm(http, SERVICE, args.workers)
        s3 = common.sluice_s3_client(http, args.concurrency)
        ledger = common.Ledger(server.data_dir)
        # A few files first: clients, connections and the first job's imports are warm.
        upload(s3, [f"warm-{i:03d}.txt" for i in range(args.warmup)], args.concurrency)
        ledger.wait_done(SERVICE, args.warmup, args.timeout)
        manager, store = common.manager_pid(server), common.weed_pid(server)
        idle = common.idle_cpu_ms_per_s({"manager": manager, "object_store": store}, args.idle_s)
        cpu = common.StackCpu(manager, store)
        cpu.start()
        started = time.time()
        names = [f"f{i:05d}.txt" for i in range(args.files)]
        sent = upload(s3, names, args.concurrency, args.rate)
        uploads_s = time.time() - started
        counts = ledger.wait_done(SERVICE, args.warmup + args.files, args.timeout)
        at_last_job = cpu.stop()
        tail_s = common.wait_quiet(manager)  # events still queued for it, such as the outputs'
        spent = cpu.stop()
        times = ledger.times(SERVICE)
        created = ledger.created(SERVICE)
        ledger.close()
        warnings = len(POOL_FULL.findall(server.log_path.read_text(errors="replace")))
    queued = (t - sent[k] for k, t in created.items() if k in sent and t is not None)
    return sluice_result(args, sent, times, counts, uploads_s, spent, at_last_job) | {
        **common.latency_ms("upload_to_job", queued),
        "idle_cpu_ms_per_s": idle,
        "manager_tail_s": round(tail_s, 2),
        "manager_log_pool_full_warnings": warnings,
    }


def sluice_result(
    args: argparse.Namespace,
    sent: dict[str, float],
    times: dict[str, tuple[float | None, float | None]],
    counts: dict[str, int],
    uploads_s: float,
    spent: dict[str, float],
    at_last_job: dict[str, float],
) -> dict[str, Any]:
    measured = {key: times.get(key, (None, None)) for key in sent}
    finished = [end for _, end in measured.values() if end is not None]
    elapsed = max(finished) - min(sent.values())
    per_file = common.per_file_ms(spent, args.files)
    return {
        "files": args.files,
        "succeeded": counts.get("Succeeded", 0) - args.warmup,
        "failed": counts.get("Failed", 0),
        "uploads_s": round(uploads_s, 3),
        "end_to_end_s": round(elapsed, 3),
        "files_per_s": round(args.files / elapsed, 2),
        **common.latency_ms(
            "upload_to_start", (s - sent[k] for k, (s, _) in measured.items() if s is not None)
        ),
        **common.latency_ms(
            "upload_to_output", (e - sent[k] for k, (_, e) in measured.items() if e is not None)
        ),
        "manager_cpu_ms_per_file": round(per_file["manager_ms_per_file"], 2),
        "manager_cpu_ms_per_file_at_last_job": round(
            1000 * at_last_job["manager_s"] / args.files, 2
        ),
        "cpu_ms_per_file": common.rounded(per_file, 2),
        "cpu_s": common.rounded(spent),
    }


def direct_loop(files: int, handler: bool) -> float:
    """The work alone, files/s: the script run N times (same variables), or the handler
    function called N times in this process."""
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / "in.txt", Path(tmp) / "out"
        source.write_text("x")
        out.mkdir()
        start = time.perf_counter()
        if handler:
            import trivial

            for _ in range(files):
                trivial.copy_input(str(source), str(out))
        else:
            script = Path(tmp) / "script.sh"
            script.write_text(common.COPY_SCRIPT)
            env = {"PATH": os.environ["PATH"], "INPUT_FILE_PATH": str(source)}
            env["TMP_OUTPUT_DIR"] = str(out)
            for _ in range(files):
                subprocess.run(["/bin/sh", str(script)], env=env, check=True)
        return round(files / (time.perf_counter() - start), 2)


def celery_anchor(args: argparse.Namespace) -> dict[str, Any]:
    """``bench/peers/celery_s3.py`` in a process of its own (fresh servers, a fresh client)."""
    argv = [sys.executable, str(common.BENCH / "peers" / "celery_s3.py")]
    argv += ["--files", str(args.files), "--concurrency", str(args.concurrency)]
    argv += ["--workers", str(args.celery_workers), "--timeout", str(args.timeout)]
    argv += ["--idle-s", str(args.idle_s)]
    if args.handler:
        argv.append("--python-task")
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the Celery anchor failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    for key in ("benchmark", "argv", "commit", "load_before", "load_after"):
        result.pop(key, None)
    return result


def one_round(args: argparse.Namespace, index: int) -> dict[str, Any]:
    """Sluice and its anchor, in alternating order from round to round."""
    parts: dict[str, Any] = {}

    def anchor() -> None:
        parts["celery"] = celery_anchor(args)

    def sluice() -> None:
        parts["sluice"] = sluice_round(args)

    order = (sluice, anchor) if index % 2 == 0 else (anchor, sluice)
    for step in order:
        if step is anchor and args.no_anchor:
            continue
        step()
    if "celery" in parts:
        sluice_fps, celery_fps = parts["sluice"]["files_per_s"], parts["celery"]["files_per_s"]
        parts["sluice_vs_celery_files_per_s"] = round(sluice_fps / celery_fps, 3)
    return parts


def summary(rounds: list[dict[str, Any]], direct: float) -> dict[str, Any]:
    """Medians over the rounds (with their spread when there are several), and the ratios to
    the anchors."""
    sluice = common.median_of([r["sluice"] for r in rounds])
    out: dict[str, Any] = {"sluice": sluice, "direct_loop_files_per_s": direct}
    out["sluice_vs_direct_loop"] = round(sluice["files_per_s"] / direct, 3)
    if "celery" in rounds[0]:
        out["celery"] = common.median_of([r["celery"] for r in rounds])
        ratios = [r["sluice_vs_celery_files_per_s"] for r in rounds]
        out["sluice_vs_celery_files_per_s"] = statistics.median(ratios)
        if len(ratios) > 1:
            out["sluice_vs_celery_spread"] = [min(ratios), max(ratios)]
    return out


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8, help="parallel uploads")
    parser.add_argument(
        "--rate", type=float, default=0, help="uploads per second at most (0: as fast as they go)"
    )
    parser.add_argument("--handler", action="store_true", help="a trivial handler service")
    parser.add_argument("--workers", type=int, default=2, help="warm workers (--handler)")
    parser.add_argument("--batch-size", type=int, default=1, help="jobs per handler call")
    parser.add_argument("--batch-wait-ms", type=int, default=0)
    parser.add_argument("--service-cpu", default="0.1", help="the service's cpu request")
    parser.add_argument("--service-memory", default="32Mi")
    parser.add_argument("--warmup", type=int, default=4, help="files before measuring")
    parser.add_argument("--rounds", type=int, default=1, help="Sluice and anchor, alternating")
    parser.add_argument("--idle-s", type=float, default=3, help="idle CPU sample before")
    parser.add_argument("--celery-workers", type=int, default=2)
    parser.add_argument("--no-anchor", action="store_true", help="skip the Celery anchor")
    parser.add_argument("--timeout", type=float, default=600)
    common.add_sluice_env_argument(parser)
    args = parser.parse_args()
    if args.rate and not args.no_anchor:
        parser.error("--rate paces Sluice's uploads only (the anchor's are not): add --no-anchor")
    return args


def main() -> None:
    args = arguments()
    sys.path.insert(0, str(common.HANDLERS))
    load = common.conditions()
    rounds = [one_round(args, i) for i in range(args.rounds)]
    direct = direct_loop(args.files, args.handler)
    config = {
        "service": "handler" if args.handler else "script",
        "files": args.files,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "sluice_env": common.sluice_env(args),
    }
    if args.handler:
        config |= {"workers": args.workers, "batch_size": args.batch_size}
    common.report({**config, **summary(rounds, direct), "per_round": rounds}, load)


if __name__ == "__main__":
    main()
