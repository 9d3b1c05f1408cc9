"""Part 2 of issue 10: the edge is full, so a job goes to its replica on the cloud.

The edge has one CPU; a slow job holds it. The next job waits the service's
``rescheduler_threshold`` and is delegated to the cloud replica as OSCAR's DelegateJob does
(a job that can never fit the edge goes at once):
the cloud reads the input from the edge's store and writes its result back there. Both
ledgers record it, and lineage follows it. ``/system/federation/{svc}`` reads and changes the
replicas.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.continuum.helpers import cli, service, write_config, write_fdl
from tests.continuum.sites import Sites, two_sites
from tests.e2e.helpers import wait_for

SLOW = 'case "$INPUT_FILE_PATH" in *slow*) sleep 25;; esac\n'


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    base = tmp_path_factory.mktemp("delegation-sites").resolve()
    with two_sites(base, edge_env={"SLUICE_TOTAL_CPU": "1"}) as pair:
        yield pair


@pytest.fixture(scope="module")
def config(sites: Sites, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("delegation-fdl")
    replica = {"type": "oscar", "cluster_id": "cloud", "service_name": "work-cloud"}
    edge = service("work", "work/in", [("minio.default", "work/out")], "edge", cpu="1")
    edge |= {"replicas": [{**replica, "priority": 0}], "rescheduler_threshold": 1}
    cloud = service("work-cloud", "work/in", [("minio.edge", "work/out")], "cloud", cpu="1")
    fdl = write_fdl(
        folder, [("edge", edge), ("cloud", cloud)], {"edge": sites.edge.minio_provider()}
    )
    (folder / "mark.sh").write_text(SLOW + (folder / "mark.sh").read_text())
    path = write_config(sites, folder / "config.yaml")
    applied = cli(path, "apply", str(fdl))
    assert applied.exit_code == 0, applied.output
    return path


def job_of(site: Any, svc: str, key: str) -> dict[str, Any] | None:
    with site.client() as http:
        jobs = http.get(f"/system/jobs/{svc}").json()["jobs"]
    found = [j for j in jobs if key in json.dumps(j.get("input"))]
    return found[0] if found else None


def output(sites: Sites, key: str) -> bytes | None:
    s3 = sites.edge.s3()
    try:
        body: bytes = s3.get_object(Bucket="work", Key=f"out/{key}")["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return body


def test_full_edge_delegates_to_the_cloud_replica(sites: Sites, config: Path) -> None:
    edge_s3 = sites.edge.s3()
    edge_s3.put_object(Bucket="work", Key="in/slow.txt", Body=b"slow\n")
    wait_for(
        lambda: (job_of(sites.edge, "work", "slow.txt") or {}).get("status") == "Running",
        what="the slow job to hold the edge's CPU",
    )
    edge_s3.put_object(Bucket="work", Key="in/fast.txt", Body=b"fast\n")
    result = wait_for(lambda: output(sites, "fast.txt"), what="the delegated job's result")
    assert result == b"fast\ncloud\n"  # it ran on the cloud
    slow = job_of(sites.edge, "work", "slow.txt")
    assert slow is not None and slow["status"] == "Running"  # still busy here all along

    # Both ledgers: the edge's job ended by delegation, naming the cloud's job; that job ran.
    edge_job = job_of(sites.edge, "work", "fast.txt")
    assert edge_job is not None and edge_job["status"] == "Succeeded"
    with sites.edge.client() as http:
        log = http.get(f"/system/logs/work/{edge_job['name']}").text
    assert "delegated to cluster 'cloud', service 'work-cloud' as job " in log
    cloud_id = log.rsplit("as job ", 1)[1].split()[0]
    cloud_job = job_of(sites.cloud, "work-cloud", "fast.txt")
    assert cloud_job is not None and cloud_job["name"] == cloud_id
    assert cloud_job["status"] == "Succeeded"

    traced = cli(config, "lineage", "edge", "work/out/fast.txt", "--json")
    assert traced.exit_code == 0, traced.output
    steps = json.loads(traced.stdout)["steps"]
    assert [s["object"]["path"] for s in steps] == ["work/out/fast.txt", "work/in/fast.txt"]
    made = steps[0]["job"]
    assert (made["id"], made["service"], steps[0]["cluster"]) == (cloud_id, "work-cloud", "cloud")
    assert made["delegated_from"] == {"cluster": "edge", "job": edge_job["name"]}
    assert steps[1]["job"] is None  # the upload

    wait_for(lambda: output(sites, "slow.txt"), timeout=90, what="the slow job's result")
    assert output(sites, "slow.txt") == b"slow\nedge\n"


def test_federation_route_reads_and_changes_replicas(sites: Sites, config: Path) -> None:
    with sites.edge.client() as http:
        topology = http.get("/system/federation/work").json()
        assert [m["service_name"] for m in topology["members"]] == ["work-cloud"]
        extra = {"type": "oscar", "cluster_id": "cloud", "service_name": "other", "priority": 5}
        added = http.post("/system/federation/work", json={"members": [extra]})
        assert added.status_code == 200, added.text
        assert [m["service_name"] for m in added.json()["members"]] == ["work-cloud", "other"]
        moved = {**extra, "priority": 0}
        put = http.put("/system/federation/work", json={"members": [extra], "update": [moved]})
        assert [m["priority"] for m in put.json()["members"] if m["service_name"] == "other"] == [0]
        gone = http.request("DELETE", "/system/federation/work", json={"members": [moved]})
        assert [m["service_name"] for m in gone.json()["members"]] == ["work-cloud"]
        unknown = {"type": "oscar", "cluster_id": "mars", "service_name": "x"}
        refused = http.post("/system/federation/work", json={"members": [unknown]})
        assert refused.status_code == 400 and "mars" in refused.text
        shown = http.get("/system/services/work").json()
        assert shown["clusters"]["cloud"]["auth_password"] == "hidden"


def test_always_delegated_events_wait_out_a_cut_link(sites: Sites, tmp_path: Path) -> None:
    """A service marked to always delegate; its events wait in the edge's outbox while the
    cloud is cut off, and each is run on the cloud exactly once when it is back."""
    replica = {"type": "oscar", "cluster_id": "cloud", "service_name": "always-cloud"}
    edge = service("always", "alw/in", [("minio.default", "alw/out")], "edge", replicas=[replica])
    edge["annotations"] = {"sluice.delegate": "always"}
    cloud = service("always-cloud", "alw/in", [("minio.edge", "alw/out")], "cloud")
    fdl = write_fdl(
        tmp_path, [("edge", edge), ("cloud", cloud)], {"edge": sites.edge.minio_provider()}
    )
    applied = cli(write_config(sites, tmp_path / "config.yaml"), "apply", str(fdl))
    assert applied.exit_code == 0, applied.output
    keys = ["a.txt", "b.txt", "c.txt"]
    sites.cut("cloud")
    try:
        for key in keys:
            sites.edge.s3().put_object(Bucket="alw", Key=f"in/{key}", Body=key.encode() + b"\n")
        with sites.edge.client() as http:
            held = wait_for(
                lambda: _waiting(http, "delegate", len(keys)), timeout=90, what="queued events"
            )
            jobs = http.get("/system/jobs/always").json()["jobs"]
        assert {e["service"] for e in held} == {"always"}
        assert len(jobs) == len(keys) and all(j["status"] == "Succeeded" for j in jobs)
    finally:
        sites.restore("cloud")
    s3 = sites.edge.s3()
    for key in keys:
        wait_for(lambda k=key: _exists(s3, f"out/{k}"), timeout=90, what=f"the result of {key}")
        body = s3.get_object(Bucket="alw", Key=f"out/{key}")["Body"].read()
        assert body == key.encode() + b"\ncloud\n"
    with sites.cloud.client() as http:
        ran = http.get("/system/jobs/always-cloud").json()["jobs"]
    assert len(ran) == len(keys)  # once each
    with sites.edge.client() as http:
        assert http.get("/system/outbox").json()["waiting"] == 0


def _waiting(http: Any, kind: str, count: int) -> list[dict[str, Any]] | None:
    entries = [e for e in http.get("/system/outbox").json()["entries"] if e["kind"] == kind]
    return entries if len(entries) == count else None


def _exists(s3: Any, key: str, bucket: str = "alw") -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError:
        return False
    return True


def test_a_job_too_big_for_the_edge_goes_at_once(sites: Sites, tmp_path: Path) -> None:
    """1.5 CPUs never fit the edge's one: delegated (not refused as a dead letter)."""
    replica = {"type": "oscar", "cluster_id": "cloud", "service_name": "big-cloud"}
    edge = service("big", "big/in", [("minio.default", "big/out")], "edge", cpu="1.5")
    edge |= {"replicas": [replica], "rescheduler_threshold": 3600}
    cloud = service("big-cloud", "big/in", [("minio.edge", "big/out")], "cloud", cpu="1.5")
    providers = {"edge": sites.edge.minio_provider()}
    fdl = write_fdl(tmp_path, [("edge", edge), ("cloud", cloud)], providers)
    applied = cli(write_config(sites, tmp_path / "config.yaml"), "apply", str(fdl))
    assert applied.exit_code == 0, applied.output
    s3 = sites.edge.s3()
    s3.put_object(Bucket="big", Key="in/huge.txt", Body=b"huge\n")
    wait_for(lambda: _exists(s3, "out/huge.txt", "big"), what="the big job's result")
    assert s3.get_object(Bucket="big", Key="out/huge.txt")["Body"].read() == b"huge\ncloud\n"
    job = job_of(sites.edge, "big", "huge.txt")
    assert job is not None and job["status"] == "Succeeded" and not job["dead_letter"]
