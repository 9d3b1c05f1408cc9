"""Shared helpers for end-to-end tests against a real ``sluice up``."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3
import httpx

T = TypeVar("T")


def s3_client(http: httpx.Client) -> Any:
    """A boto3 client built only from what ``/system/config`` advertises, as users do."""
    cfg = http.get("/system/config").json()["minio_provider"]
    return boto3.client(
        "s3",
        endpoint_url=cfg["endpoint"],
        aws_access_key_id=cfg["access_key"],
        aws_secret_access_key=cfg["secret_key"],
        region_name=cfg["region"],
        verify=cfg["verify"],
    )


def keys_under(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", []) if not item["Key"].endswith("/")]
    return sorted(keys)


def wait_for(probe: Callable[[], T | None], timeout: float = 60, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def held_input(http: httpx.Client, s3: Any, jobs_dir: Path) -> Path:
    """Another service's input, kept in its job's folder under ``jobs_dir`` while that job
    sleeps (service ``holder``): what a job must not see of another."""
    holder = {
        "name": "holder",
        "script": "sleep 15",
        "input": [{"storage_provider": "minio.default", "path": "holder/in"}],
    }
    assert http.post("/system/services", json=holder).status_code == 201
    s3.put_object(Bucket="holder", Key="in/private.txt", Body=b"someone else's input")
    [other] = wait_for(lambda: list(jobs_dir.glob("holder-*/input/private.txt")), what="it")
    return other


def all_jobs(http: httpx.Client, service: str) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = {}
    page = ""
    while True:
        body = http.get(f"/system/logs/{service}", params={"page": page}).json()
        jobs.update(body["jobs"])
        page = body.get("next_page") or ""
        if not page:
            return jobs


def statuses(http: httpx.Client, service: str) -> list[str]:
    return sorted(info["status"] for info in all_jobs(http, service).values())
