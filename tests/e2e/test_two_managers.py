"""Issue 9: two real ``sluice up`` on one PostgreSQL database, sharing one object store (a
standalone SeaweedFS). Both find the same uploads; every file is processed exactly once (counted
by the outputs, each named uniquely per run), and both managers do part of the work."""

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from tests.e2e.helpers import keys_under, wait_for
from tests.e2e.test_crash_recovery import job_details
from tests.postgres import PostgresCluster
from tests.servers import seaweedfs
from tests.sluice_process import SluiceProcess

from sluice.storage.embedded import EmbeddedSeaweedFS

FILES = 40
# Each run writes an output of its own name (a second run of a file would add a second one)
# that says where it ran: the job folder is in its manager's data dir.
SCRIPT = """#!/bin/sh
sleep 0.5
name=$(basename "$INPUT_FILE_PATH")
echo "$TMP_OUTPUT_DIR" > "$TMP_OUTPUT_DIR/$name.$(date +%s%N).$$"
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSeaweedFS]:
    with seaweedfs(tmp_path_factory.mktemp("shared-s3")) as shared:
        yield shared


@pytest.fixture
def managers(
    tmp_path: Path, postgres: PostgresCluster, store: EmbeddedSeaweedFS
) -> Iterator[list[SluiceProcess]]:
    with postgres.database() as url:
        env = {
            "SLUICE_DATABASE_URL": url,
            "SLUICE_SECRET_KEY": Fernet.generate_key().decode(),
            "SLUICE_S3_ENDPOINT": store.endpoint,
            "SLUICE_S3_ACCESS_KEY": store.credentials.access_key,
            "SLUICE_S3_SECRET_KEY": store.credentials.secret_key,
            "SLUICE_S3_VERIFY": "false",
            "SLUICE_RECONCILE_INTERVAL": "1",
            "SLUICE_TOTAL_CPU": "1",  # four of these jobs at a time each: the work must spread
        }
        started: list[SluiceProcess] = []
        try:
            for name in ("a", "b"):
                started.append(SluiceProcess(data_dir=tmp_path / name, env=env).start())
            yield started
        finally:
            for server in started:
                server.stop()


def s3(store: EmbeddedSeaweedFS) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=store.endpoint,
        aws_access_key_id=store.credentials.access_key,
        aws_secret_access_key=store.credentials.secret_key,
        region_name="us-east-1",
    )


def test_two_managers_on_one_database_process_every_file_exactly_once(
    managers: list[SluiceProcess], store: EmbeddedSeaweedFS
) -> None:
    a, b = managers
    http_a, http_b = a.client(), b.client()
    body = {
        "name": "shared",
        "cpu": "0.25",
        "memory": "64Mi",
        "script": SCRIPT,
        "input": [{"path": "shared/in"}],
        "output": [{"path": "shared/out"}],
    }
    assert http_a.post("/system/services", json=body).status_code == 201
    # The other manager reads the service from the shared database.
    wait_for(lambda: http_b.get("/system/services/shared").status_code == 200, what="b sees it")
    client = s3(store)
    names = [f"item-{n:03d}.txt" for n in range(FILES)]
    for name in names:
        client.put_object(Bucket="shared", Key=f"in/{name}", Body=name.encode())

    def settled() -> list[dict[str, Any]] | None:
        jobs = job_details(http_a, "shared")
        done = len(jobs) == FILES and all(job["status"] == "Succeeded" for job in jobs)
        return jobs if done else None

    jobs = wait_for(settled, timeout=180, what=f"{FILES} jobs to succeed")
    assert Counter(job["input"] for job in jobs) == {
        f"minio.default:shared/in/{name}": 1 for name in names
    }
    assert {job["attempts"] for job in jobs} == {1}
    assert len(job_details(http_b, "shared")) == FILES  # one ledger, seen the same from both

    outputs = keys_under(client, "shared", "out/")
    runs = Counter(key.removeprefix("out/").split(".txt.")[0] + ".txt" for key in outputs)
    assert runs == dict.fromkeys(names, 1)  # every file ran exactly once
    where = Counter(
        "a" if str(a.data_dir) in text else "b" if str(b.data_dir) in text else "?"
        for text in (
            client.get_object(Bucket="shared", Key=key)["Body"].read().decode() for key in outputs
        )
    )
    assert set(where) == {"a", "b"} and sum(where.values()) == FILES, where
