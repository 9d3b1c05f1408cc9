"""Anchor: N small files through Celery + Redis with 2 worker processes and the same S3 store.

What a team would build instead of Sluice for the same job: the client uploads each file to a
fresh embedded SeaweedFS (started as Sluice starts it) and enqueues a task; each task downloads
its file with boto3 (built as Sluice builds it), runs the same copy script as
``/bin/sh script.sh`` with Sluice's variables (``--python-task``: copies in Python, the anchor
of the handler variant), and uploads the output. Debian's ``redis-server`` (apt-installed if
missing) is the broker and the result backend, on 127.0.0.1 and a free port; the worker is
``celery worker --pool prefork --concurrency 2``. Both are stopped by their pids.

Prints JSON: files/s end to end, upload→task start and upload→output p50/p95, and CPU per file
of the Celery worker's main process, its 2 pool processes (the tasks and their scripts), Redis
and the object store.

    .venv/bin/python bench/peers/celery_s3.py --files 500
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery import Celery

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common

BUCKET = "bench"
ENV = "CELERY_S3_"  # the worker's settings, from the environment the driver gives it

app = Celery("celery_s3")
app.conf.update(
    broker_url=os.environ.get(f"{ENV}BROKER", "redis://127.0.0.1:6379/0"),
    result_backend=os.environ.get(f"{ENV}BROKER", "redis://127.0.0.1:6379/0"),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    result_expires=3600,
)
_client: Any = None


def _s3() -> Any:
    """One boto3 client per pool process, made after the fork."""
    global _client
    if _client is None:
        _client = common.build_s3_client(
            os.environ[f"{ENV}ENDPOINT"], os.environ[f"{ENV}ACCESS"], os.environ[f"{ENV}SECRET"]
        )
    return _client


@app.task(name="process")
def process(key: str, python_task: bool) -> dict[str, float]:
    """Download ``key``, run the script on it, upload what it wrote under ``out/``."""
    started = time.time()
    s3 = _s3()
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = Path(tmp) / "input", Path(tmp) / "output"
        inputs.mkdir()
        outputs.mkdir()
        local = inputs / key.rsplit("/", 1)[-1]
        local.write_bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        if python_task:
            shutil.copyfile(local, outputs / local.name)
        else:
            env = {
                "PATH": os.environ["PATH"],
                "INPUT_FILE_PATH": str(local),
                "TMP_INPUT_DIR": str(inputs),
                "TMP_OUTPUT_DIR": str(outputs),
                "STORAGE_OBJECT_KEY": key,
            }
            script = os.environ[f"{ENV}SCRIPT"]
            subprocess.run(["/bin/sh", script], env=env, cwd=tmp, check=True)
        for produced in sorted(outputs.rglob("*")):
            if produced.is_file():
                name = produced.relative_to(outputs).as_posix()
                s3.put_object(Bucket=BUCKET, Key=f"out/{name}", Body=produced.read_bytes())
    return {"started": started, "finished": time.time()}


# --- the driver ---------------------------------------------------------------------------


def ensure_redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("installing Debian's redis-server", file=sys.stderr)
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "redis-server"]
    subprocess.run(install, check=True, env=env, stdout=subprocess.DEVNULL)
    return shutil.which("redis-server") or "/usr/bin/redis-server"


@contextmanager
def redis_server(folder: Path) -> Iterator[tuple[str, int]]:
    """A private redis-server on 127.0.0.1 and a free port, no persistence; (url, pid)."""
    import redis

    port = common.free_port()
    argv = [ensure_redis_server(), "--bind", "127.0.0.1", "--port", str(port)]
    argv += ["--save", "", "--appendonly", "no", "--dir", str(folder), "--daemonize", "no"]
    log = (folder / "redis.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", proc.pid
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen[bytes], grace: float = 15) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def celery_worker(
    folder: Path, broker: str, store: Any, workers: int
) -> Iterator[subprocess.Popen[bytes]]:
    script = folder / "script.sh"
    script.write_text(common.COPY_SCRIPT)
    creds = store.credentials
    env = {
        **os.environ,
        f"{ENV}BROKER": broker,
        f"{ENV}ENDPOINT": store.endpoint,
        f"{ENV}ACCESS": creds.access_key,
        f"{ENV}SECRET": creds.secret_key,
        f"{ENV}SCRIPT": str(script),
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(common.BENCH)]),
    }
    argv = [sys.executable, "-m", "celery", "-A", "celery_s3", "worker", "--pool", "prefork"]
    argv += ["--concurrency", str(workers), "--loglevel", "WARNING", "-n", "bench@127.0.0.1"]
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    log = (folder / "celery.log").open("wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        _stop(proc)
        log.close()


def wait_ready(proc: subprocess.Popen[bytes], workers: int, timeout: float = 60) -> None:
    """Until the worker answers a ping and its pool processes have run a task each."""
    deadline = time.monotonic() + timeout
    while not app.control.ping(timeout=0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the celery worker did not start (see its log)")
    # 4 tasks per pool process: every process has made its boto3 client before timing starts.
    results = [process.delay("warm/w.txt", True) for _ in range(4 * workers)]
    for result in results:
        result.get(timeout=timeout)


def run(
    files: int,
    concurrency: int,
    workers: int,
    python_task: bool,
    timeout: float,
    idle_s: float = 3,
) -> dict[str, Any]:
    """One measured run on fresh servers."""
    with (
        tempfile.TemporaryDirectory(prefix="celery-bench-") as tmp,
        common.bare_seaweedfs() as store,
        redis_server(Path(tmp)) as (broker, redis_pid),
    ):
        app.conf.update(broker_url=broker, result_backend=broker)
        s3 = common.store_client(store)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="warm/w.txt", Body=b"x")
        with celery_worker(Path(tmp), broker, store, workers) as worker:
            wait_ready(worker, workers)
            assert store.pid is not None
            idle = common.idle_cpu_ms_per_s(
                {"celery_main": worker.pid, "object_store": store.pid, "redis": redis_pid},
                idle_s,
            )
            cpu = common.StackCpu(worker.pid, store.pid, {"redis": redis_pid})
            cpu.start()
            uploaded, results = upload_and_enqueue(s3, files, concurrency, python_task)
            done = {key: result.get(timeout=timeout) for key, result in results.items()}
            spent = celery_names(cpu.stop())
        outputs = sum(1 for _ in iter_keys(s3, "out/f"))
    first = min(uploaded.values())
    last = max(d["finished"] for d in done.values())
    return {
        "files": files,
        "outputs": outputs,
        "end_to_end_s": round(last - first, 3),
        "files_per_s": round(files / (last - first), 2),
        **common.latency_ms("upload_to_start", (done[k]["started"] - uploaded[k] for k in done)),
        **common.latency_ms("upload_to_output", (done[k]["finished"] - uploaded[k] for k in done)),
        "cpu_s": common.rounded(spent),
        "cpu_ms_per_file": common.rounded(common.per_file_ms(spent, files), 2),
        "idle_cpu_ms_per_s": idle,
    }


def celery_names(spent: dict[str, float]) -> dict[str, float]:
    """The stack's parts by their Celery names: the worker's main process consumes from the
    broker and hands tasks to its pool processes, which run the tasks and their scripts."""
    names = {"manager_s": "celery_main_s", "jobs_and_workers_s": "celery_pool_and_scripts_s"}
    return {names.get(key, key): value for key, value in spent.items()}


def upload_and_enqueue(
    s3: Any, files: int, concurrency: int, python_task: bool
) -> tuple[dict[str, float], dict[str, Any]]:
    uploaded: dict[str, float] = {}
    results: dict[str, Any] = {}

    def put(i: int) -> None:
        key = f"in/f{i:05d}.txt"
        uploaded[key] = time.time()
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
        results[key] = process.delay(key, python_task)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(put, range(files)))
    return uploaded, results


def iter_keys(s3: Any, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8, help="parallel uploads")
    parser.add_argument("--workers", type=int, default=2, help="celery pool processes")
    parser.add_argument("--python-task", action="store_true", help="copy in Python, no script")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--idle-s", type=float, default=3, help="idle CPU sample before")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    load = common.conditions()
    result = run(
        args.files, args.concurrency, args.workers, args.python_task, args.timeout, args.idle_s
    )
    common.report({"workers": args.workers, "python_task": args.python_task, **result}, load)


if __name__ == "__main__":
    main()
