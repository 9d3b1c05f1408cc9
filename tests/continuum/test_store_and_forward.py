"""Part 3a of issue 10: the link to the cloud is cut in the middle of a stream of frames.

The edge keeps going: its jobs succeed and their outputs for the cloud wait in its outbox (in
its ledger's database and data dir), across a restart of the edge. When the link comes back
they are delivered, and every frame reaches the cloud, and is processed there, exactly once.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.continuum.helpers import cli, service, write_config, write_fdl
from tests.continuum.sites import Sites, two_sites
from tests.e2e.helpers import all_jobs, keys_under, wait_for

FRAMES = 6


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    with two_sites(tmp_path_factory.mktemp("fwd-sites").resolve()) as pair:
        yield pair


def outbox(sites: Sites) -> dict[str, Any]:
    with sites.edge.client() as http:
        body: dict[str, Any] = http.get("/system/outbox").json()
    return body


def edge_done(sites: Sites, count: int) -> bool:
    with sites.edge.client() as http:
        jobs = all_jobs(http, "fwd-split")
    return len(jobs) == count and all(j["status"] == "Succeeded" for j in jobs.values())


def frame(index: int) -> bytes:
    return f"frame {index}\n".encode()


def test_link_cut_mid_stream_every_frame_once(sites: Sites, tmp_path: Path) -> None:
    edge = service("fwd-split", "fwd/input", [("minio.cloud", "fwd/mid")], "edge")
    cloud = service("fwd-detect", "fwd/mid", [("minio.default", "fwd/out")], "cloud")
    fdl = write_fdl(
        tmp_path, [("edge", edge), ("cloud", cloud)], {"cloud": sites.cloud.minio_provider()}
    )
    applied = cli(write_config(sites, tmp_path / "config.yaml"), "apply", str(fdl))
    assert applied.exit_code == 0, applied.output
    edge_s3, cloud_s3 = sites.edge.s3(), sites.cloud.s3()
    first, second = range(FRAMES // 2), range(FRAMES // 2, FRAMES)

    for i in first:
        edge_s3.put_object(Bucket="fwd", Key=f"input/f{i}.txt", Body=frame(i))
    wait_for(lambda: len(keys_under(cloud_s3, "fwd", "out/")) == len(first), what="first half")

    sites.cut("cloud")
    try:
        for i in second:
            edge_s3.put_object(Bucket="fwd", Key=f"input/f{i}.txt", Body=frame(i))
        wait_for(lambda: edge_done(sites, FRAMES), timeout=120, what="the edge's jobs")
        held = outbox(sites)
        assert held["waiting"] == len(second), held
        assert {e["path"] for e in held["entries"]} == {f"fwd/mid/f{i}.txt" for i in second}
        assert all(e["last_error"] for e in held["entries"])
        spooled = list((sites.edge.data_dir / "outbox").iterdir())
        assert len(spooled) == len(second)
        # Durably: the edge restarts while the link is still down, and nothing is lost.
        sites.edge.stop()
        sites.edge.start()
        assert outbox(sites)["waiting"] == len(second)
    finally:
        sites.restore("cloud")

    wait_for(lambda: outbox(sites)["waiting"] == 0, timeout=120, what="the outbox to empty")
    wait_for(lambda: len(keys_under(cloud_s3, "fwd", "out/")) == FRAMES, timeout=120, what="all")
    assert outbox(sites)["delivered"] == len(second)
    assert list((sites.edge.data_dir / "outbox").iterdir()) == []
    for i in range(FRAMES):
        body = cloud_s3.get_object(Bucket="fwd", Key=f"out/f{i}.txt")["Body"].read()
        assert body == frame(i) + b"edge\ncloud\n"  # each stage once
    # Counted on the cloud: one job per frame, each succeeded, none repeated.
    with sites.cloud.client() as http:
        jobs = wait_for(lambda: _settled(all_jobs(http, "fwd-detect")), what="cloud jobs settle")
    assert len(jobs) == FRAMES
    assert keys_under(cloud_s3, "fwd", "mid/") == [f"mid/f{i}.txt" for i in range(FRAMES)]


def _settled(jobs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    done = len(jobs) == FRAMES and all(j["status"] == "Succeeded" for j in jobs.values())
    return jobs if done else None
