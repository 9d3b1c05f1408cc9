"""Benchmark: the CPU and wall time of one small-object PUT and GET, by S3 client library.

Against one real SeaweedFS (``weed mini``, started as Sluice starts it, on 127.0.0.1), in the
same run: boto3 built as Sluice builds it (``sluice.storage.s3.build_s3_client``), ``obstore``
(Rust, object_store) and ``minio`` (the MinIO Python SDK). For each client and size:

- sequential: ``--iterations`` PUTs of distinct keys, then GETs of them, one at a time. CPU is
  this process's CPU time (every thread: obstore works on Rust threads) over the whole loop
  divided by the operations; wall is per operation (p50, p95). The object store's CPU per
  operation is reported beside it (the server's cost, the same work for every client).
- concurrent: ``--threads`` threads sharing one client, ``--concurrent-ops`` PUTs then GETs:
  operations/s, CPU per operation, and the urllib3 "Connection pool is full" warnings the
  client logged, beside the client's pool size (obstore's has no fixed size).

Each client library's anchor is the others in the same run, on the same store.

    .venv/bin/python bench/s3_clients.py --iterations 300
"""

import argparse
import io
import logging
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit

import common

BUCKET = "clients"


class Boto3:
    """boto3, exactly as Sluice builds it."""

    name = "boto3"

    def __init__(self, store: Any) -> None:
        self._client = common.store_client(store)
        self.pool_size: int | None = self._client.meta.config.max_pool_connections

    def put(self, key: str, data: bytes) -> None:
        self._client.put_object(Bucket=BUCKET, Key=key, Body=data)

    def get(self, key: str) -> bytes:
        body: bytes = self._client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return body


class Obstore:
    name = "obstore"

    def __init__(self, store: Any) -> None:
        import obstore
        from obstore.store import S3Store

        creds = store.credentials
        self._obstore = obstore
        self.pool_size: int | None = None  # reqwest's pool: no fixed size, no discards
        self._store = S3Store(
            BUCKET,
            endpoint=store.endpoint,
            access_key_id=creds.access_key,
            secret_access_key=creds.secret_key,
            region="us-east-1",
            virtual_hosted_style_request=False,
            client_options={"allow_http": True},
        )

    def put(self, key: str, data: bytes) -> None:
        self._obstore.put(self._store, key, data)

    def get(self, key: str) -> bytes:
        return bytes(self._obstore.get(self._store, key).bytes())


class MinioClient:
    name = "minio"

    def __init__(self, store: Any) -> None:
        from minio import Minio

        creds = store.credentials
        where = urlsplit(store.endpoint)
        self._client = Minio(
            where.netloc,
            access_key=creds.access_key,
            secret_key=creds.secret_key,
            secure=False,
            region="us-east-1",
        )
        pool = getattr(self._client, "_http", None)
        self.pool_size = getattr(pool, "connection_pool_kw", {}).get("maxsize", 10)

    def put(self, key: str, data: bytes) -> None:
        self._client.put_object(BUCKET, key, io.BytesIO(data), len(data))

    def get(self, key: str) -> bytes:
        response = self._client.get_object(BUCKET, key)
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()


CLIENTS: dict[str, Callable[[Any], Any]] = {
    "boto3": Boto3,
    "obstore": Obstore,
    "minio": MinioClient,
}


class PoolWarnings(logging.Handler):
    """Counts urllib3's "Connection pool is full, discarding connection" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "Connection pool is full" in record.getMessage():
            self.count += 1


def sequential(client: Any, size: int, iterations: int, store_pid: int) -> dict[str, Any]:
    data = os.urandom(size)
    keys = [f"{client.name}/seq-{size}/{i:06d}" for i in range(iterations)]
    for key in keys[:5]:  # connections open, code paths warm
        client.put(key, data)
        client.get(key)
    out: dict[str, Any] = {}
    for op in ("put", "get"):
        walls: list[float] = []
        cpu, store = time.process_time(), common.cpu_of(store_pid).own
        for key in keys:
            start = time.perf_counter()
            if op == "put":
                client.put(key, data)
            elif len(client.get(key)) != size:
                raise SystemExit(f"{client.name}: GET {key} returned the wrong size")
            walls.append(time.perf_counter() - start)
        cpu, store = time.process_time() - cpu, common.cpu_of(store_pid).own - store
        out[op] = {
            "cpu_ms_per_op": round(1000 * cpu / iterations, 3),
            "wall_p50_ms": round(1000 * statistics.median(walls), 3),
            "wall_p95_ms": round(1000 * common.percentile(walls, 0.95), 3),
            "wall_mean_ms": round(1000 * statistics.fmean(walls), 3),
            "store_cpu_ms_per_op": round(1000 * store / iterations, 3),
        }
    return out


def concurrent(client: Any, size: int, threads: int, ops: int) -> dict[str, Any]:
    data = os.urandom(size)
    keys = [f"{client.name}/conc-{size}/{i:06d}" for i in range(ops)]
    warnings = PoolWarnings()
    logging.getLogger("urllib3.connectionpool").addHandler(warnings)
    out: dict[str, Any] = {"threads": threads, "pool_size": client.pool_size}
    try:
        for op in ("put", "get"):
            call = (lambda k: client.put(k, data)) if op == "put" else client.get
            cpu, start = time.process_time(), time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(call, keys))
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            out[f"{op}_ops_per_s"] = round(ops / wall, 1)
            out[f"{op}_cpu_ms_per_op"] = round(1000 * cpu / ops, 3)
    finally:
        logging.getLogger("urllib3.connectionpool").removeHandler(warnings)
    out["pool_full_warnings"] = warnings.count
    return out


def one_round(
    store: Any, names: list[str], sizes: list[int], args: argparse.Namespace
) -> dict[str, Any]:
    assert store.pid is not None
    results: dict[str, Any] = {}
    for name in names:
        client = CLIENTS[name](store)
        per_size: dict[str, Any] = {}
        for size in sizes:
            label = f"{size // 1024}KiB" if size < 1024 * 1024 else f"{size // 1024 // 1024}MiB"
            per_size[label] = sequential(client, size, args.iterations, store.pid)
            ops = max(args.threads, args.concurrent_ops if size <= 64 * 1024 else ops_big(args))
            per_size[label]["concurrent"] = concurrent(client, size, args.threads, ops)
        results[name] = per_size
    return results


def ops_big(args: argparse.Namespace) -> int:
    return max(args.threads, args.concurrent_ops // 4)  # 1 MiB objects: fewer of them


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    """CPU per sequential operation of each client over boto3's."""
    out: dict[str, Any] = {}
    base = result.get("boto3")
    if not base:
        return out
    for name, per_size in result.items():
        if name == "boto3":
            continue
        for label, ops in per_size.items():
            for op in ("put", "get"):
                mine, theirs = ops[op]["cpu_ms_per_op"], base[label][op]["cpu_ms_per_op"]
                out[f"{name}_vs_boto3_cpu_{label}_{op}"] = round(mine / theirs, 3)
    return out


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=300, help="sequential ops per case")
    parser.add_argument("--sizes", default="1024,1048576", help="object sizes in bytes")
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--threads", type=int, default=16, help="threads in the concurrent part")
    parser.add_argument("--concurrent-ops", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=1, help="client order rotates per round")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    names = [n.strip() for n in args.clients.split(",") if n.strip()]
    unknown = set(names) - set(CLIENTS)
    if unknown:
        raise SystemExit(f"unknown clients {sorted(unknown)}; known: {sorted(CLIENTS)}")
    sizes = [int(s) for s in args.sizes.split(",")]
    load = common.conditions()
    rounds = []
    with common.bare_seaweedfs() as store:
        common.store_client(store).create_bucket(Bucket=BUCKET)
        for index in range(args.rounds):
            order = names[index % len(names) :] + names[: index % len(names)]
            rounds.append(one_round(store, order, sizes, args))
    result = {name: common.median_of([r[name] for r in rounds]) for name in names}
    common.report(
        {
            "iterations": args.iterations,
            "rounds": args.rounds,
            "versions": {name: version(name) for name in names},
            "clients": result,
            "ratios": ratios(result),
        },
        load,
    )


if __name__ == "__main__":
    main()
