"""The other tables of the state database (services, buckets, volumes, the execution log and the
ledger's statistics), on SQLite and on PostgreSQL, through the same stores."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from sluice.crypto import SecretBox
from sluice.domain.job import JobStatus
from sluice.errors import Conflict, NotFound
from sluice.state.buckets import BucketStore, StoredBucket
from sluice.state.database import Database, open_database
from sluice.state.executions import Execution, ExecutionStore
from sluice.state.job_stats import JobStats
from sluice.state.jobs import JobLedger
from sluice.state.services import ServiceStore
from sluice.state.volumes import StoredVolume, VolumeStore
from tests.postgres import both_databases

pytestmark = both_databases


@pytest.fixture
def db(tmp_path: Path, database_url: str | None) -> Iterator[Database]:
    database = open_database(database_url or f"sqlite:///{tmp_path / 'sluice.db'}")
    yield database
    database.engine.dispose()


def test_services_are_kept_sealed_and_come_back_whole(db: Database) -> None:
    box = SecretBox(Fernet.generate_key())
    store = ServiceStore(db, box)
    definition = {"name": "svc", "environment": {"secrets": {"KEY": "s3cret"}}, "cpu": "0.5"}
    added = store.add("svc", definition, "token-1", "oscar")
    with pytest.raises(Conflict):
        store.add("svc", definition, "token-2", "oscar")
    got = store.get("svc")
    assert (got.definition, got.token, got.owner) == (definition, "token-1", "oscar")
    assert got.created_at == added.created_at and got.created_at.tzinfo is not None
    store.replace("svc", {**definition, "cpu": "1"})
    assert store.get("svc").definition["cpu"] == "1"
    assert set(store.versions()) == {"svc"}
    assert [s.name for s in store.some(["svc", "other"])] == ["svc"]
    assert ServiceStore(db).get("svc").token != "token-1"  # as stored: sealed
    store.remove("svc")
    with pytest.raises(NotFound):
        store.get("svc")
    with pytest.raises(NotFound):
        store.replace("svc", definition)


def test_buckets_and_volumes(db: Database) -> None:
    buckets = BucketStore(db)
    buckets.put(StoredBucket("data", "oscar", "private"))
    buckets.put(StoredBucket("data", "alice", "restricted", ["bob"], {"k": "v"}))
    kept = buckets.get("data")
    assert kept is not None and (kept.owner, kept.allowed_users, kept.metadata) == (
        "alice",
        ["bob"],
        {"k": "v"},
    )
    assert set(buckets.all()) == {"data"}
    buckets.remove("data")
    assert buckets.get("data") is None

    volumes = VolumeStore(db)
    volumes.add(StoredVolume("vol", "1Gi", "oscar", "api"))
    with pytest.raises(Conflict):
        volumes.add(StoredVolume("vol", "2Gi", "oscar", "api"))
    assert [v.size for v in volumes.all()] == ["1Gi"]


def test_the_execution_log_keeps_order_and_prunes(db: Database) -> None:
    store = ExecutionStore(db)
    now = datetime.now(UTC)
    entries = [
        Execution(now - timedelta(minutes=m), "svc", "sync", 200, 0.1, "", "POST", "/run/svc", "u")
        for m in (30, 20, 10)
    ]
    store.add(entries)
    got = store.between(now - timedelta(hours=1), now + timedelta(seconds=1))
    assert [e.at for e in got] == [e.at for e in entries]
    assert [e.at for e in store.between(now - timedelta(hours=1), now, limit=1)] == [entries[-1].at]
    assert store.prune(now - timedelta(minutes=15)) == 2


def test_job_statistics(db: Database) -> None:
    ledger, stats = JobLedger(db, owner="a"), JobStats(db)
    made = [ledger.enqueue("svc", payload=b"{}") for _ in range(3)]
    ids = [job.id for job in made if job is not None]
    ledger.claim(ids[0])
    ledger.claim(ids[1])
    ledger.succeed(ids[1], 0, "ok\n")
    assert stats.running("svc") == 1
    assert stats.latest_logs("svc", 5) == [(ids[1], "ok\n")]
    now = datetime.now(UTC)
    spans = stats.spans(now - timedelta(hours=1), now + timedelta(hours=1), "svc")
    assert sorted(span.status.value for span in spans) == sorted(
        [JobStatus.RUNNING.value, JobStatus.SUCCEEDED.value, JobStatus.PENDING.value]
    )
