"""The outbox (store-and-forward) and lineage records, over a real SQLite state database."""

from pathlib import Path

import pytest

from sluice.domain import federation
from sluice.domain.service import parse_service
from sluice.errors import Invalid
from sluice.state.database import open_database
from sluice.state.lineage import OUTPUT, LineageStore
from sluice.state.outbox import Outbox


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_waiting_entries_come_out_oldest_first_per_store(db_url: str) -> None:
    box = Outbox(open_database(db_url))
    first = box.add("upload", "svc", "minio.cloud", "http://c:1", path="b/1", spool="s1")
    box.add("delegate", "svc", "other", "http://o:1", job_id="j", body=b"{}")
    third = box.add("upload", "svc", "minio.cloud", "http://c:1", path="b/2", spool="s2")
    assert [p.id for p in box.waiting("http://c:1")] == [first, third]
    assert box.holds("http://o:1") and not box.holds("http://nowhere:1")
    assert box.counts() == {"waiting": 3, "delivered": 0}


def test_delivered_once_and_kept_across_reopening(db_url: str) -> None:
    box = Outbox(open_database(db_url))
    ident = box.add("upload", "svc", "minio.cloud", "http://c:1", path="b/1", spool="s1")
    box.failed(ident, "connection refused")
    again = Outbox(open_database(db_url))  # a restart
    (parcel,) = again.waiting()
    assert (parcel.attempts, parcel.last_error) == (1, "connection refused")
    (shown,) = again.listing()
    assert shown["path"] == "b/1" and "body" not in shown and "spool" not in shown
    assert again.delivered(ident) is True
    assert again.delivered(ident) is False  # a second delivery finds it done
    assert again.counts() == {"waiting": 0, "delivered": 1}


def test_lineage_finds_the_writer_of_an_object_in_its_store(db_url: str) -> None:
    lineage = LineageStore(open_database(db_url))
    lineage.add("job-1", "split", OUTPUT, store="http://c:1", path="b/mid/x")
    lineage.add("job-2", "split", OUTPUT, store="http://e:1", path="b/mid/x")
    (found,) = lineage.writers("http://c:1", "b/mid/x")
    assert found.job_id == "job-1"
    assert lineage.writers("http://c:1", "b/mid/y") == []


def test_v3_replicas_become_federation_members() -> None:
    replica = {"type": "oscar", "cluster_id": "cloud", "service_name": "w", "priority": 2}
    cloud = {"cloud": {"endpoint": "http://c:8080", "auth_user": "u", "auth_password": "p"}}
    service = parse_service(
        {"name": "w", "script": "x", "replicas": [replica], "rescheduler_threshold": 3}
        | {"clusters": cloud}
    )
    assert service.replicas == []
    (member,) = federation.members(service.federation)
    assert (member.cluster_id, member.service_name, member.priority) == ("cloud", "w", 2)
    assert federation.threshold(service.federation) == 3.0


@pytest.mark.parametrize(
    ("replica", "message"),
    [
        ({"type": "oscar", "cluster_id": "mars", "service_name": "w"}, "unknown cluster 'mars'"),
        ({"type": "endpoint", "url": "http://x:1"}, "only oscar replicas"),
        ({"type": "oscar", "cluster_id": "cloud"}, "service_name: is required"),
    ],
)
def test_replicas_that_lead_nowhere_are_refused(replica: dict[str, str], message: str) -> None:
    cloud = {"cloud": {"endpoint": "http://c:8080"}}
    with pytest.raises(Invalid, match=message):
        parse_service({"name": "w", "script": "x", "replicas": [replica], "clusters": cloud})
