"""Part 1 of issue 10: one FDL, two clusters, applied as oscar-cli applies it.

The edge service's output is the cloud cluster's store; the upload there is the cloud's own
event and starts the cloud service. Bad FDLs and bad clusters are refused before anything is
created, and a loop through the other cluster's store is refused at apply time.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.continuum.helpers import cli, line_of, service, write_config, write_fdl
from tests.continuum.sites import Sites, two_sites
from tests.e2e.helpers import keys_under, wait_for


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    with two_sites(tmp_path_factory.mktemp("chain-sites").resolve()) as pair:
        yield pair


@pytest.fixture
def config(sites: Sites, tmp_path: Path) -> Path:
    return write_config(sites, tmp_path / "config.yaml")


def names(site: Any) -> set[str]:
    with site.client() as http:
        return {s["name"] for s in http.get("/system/services").json()}


def chain(sites: Sites, folder: Path, prefix: str, **kwargs: Any) -> Path:
    edge = service(f"{prefix}-split", f"{prefix}/input", [("minio.cloud", f"{prefix}/mid")], "edge")
    cloud = service(
        f"{prefix}-detect", f"{prefix}/mid", [("minio.default", f"{prefix}/out")], "cloud"
    )
    providers = {"cloud": sites.cloud.minio_provider()}
    return write_fdl(folder, [("edge", edge), ("cloud", cloud)], providers, **kwargs)


def test_chained_services_across_two_clusters(sites: Sites, config: Path, tmp_path: Path) -> None:
    fdl = chain(sites, tmp_path, "frames")
    applied = cli(config, "apply", str(fdl))
    assert applied.exit_code == 0, applied.output
    assert "frames-split" in names(sites.edge) and "frames-split" not in names(sites.cloud)
    assert "frames-detect" in names(sites.cloud) and "frames-detect" not in names(sites.edge)

    sites.edge.s3().put_object(Bucket="frames", Key="input/f1.txt", Body=b"frame 1\n")
    cloud = sites.cloud.s3()
    wait_for(lambda: keys_under(cloud, "frames", "out/"), what="the cloud's result")
    body = cloud.get_object(Bucket="frames", Key="out/f1.txt")["Body"].read()
    assert body == b"frame 1\nedge\ncloud\n"
    assert keys_under(sites.edge.s3(), "frames", "mid/") == []  # it went to the cloud's store

    # Lineage of the result: the cloud's job, the edge's job, the upload that started it all.
    traced = cli(config, "lineage", "cloud", "frames/out/f1.txt", "--json")
    assert traced.exit_code == 0, traced.output
    steps = json.loads(traced.stdout)["steps"]
    assert [s["object"]["path"] for s in steps] == [
        "frames/out/f1.txt",
        "frames/mid/f1.txt",
        "frames/input/f1.txt",
    ]
    assert [s["cluster"] for s in steps] == ["cloud", "edge", "edge"]
    detect, split, upload = (s["job"] for s in steps)
    assert (detect["service"], detect["status"]) == ("frames-detect", "Succeeded")
    assert (split["service"], split["status"]) == ("frames-split", "Succeeded")
    assert upload is None
    with sites.cloud.client() as http:
        assert detect["id"] in http.get("/system/logs/frames-detect").json()["jobs"]
    with sites.edge.client() as http:
        assert split["id"] in http.get("/system/logs/frames-split").json()["jobs"]
    shown = cli(config, "lineage", "cloud", "frames/out/f1.txt")
    assert shown.exit_code == 0 and "uploaded" in shown.output and split["id"] in shown.output


def test_cluster_defined_only_in_the_fdl(sites: Sites, tmp_path: Path) -> None:
    config = write_config(sites, tmp_path / "config.yaml", only=("edge",))
    fdl = chain(sites, tmp_path, "fdlcl", clusters={"cloud": sites.cloud.cluster_entry()})
    applied = cli(config, "apply", str(fdl))
    assert applied.exit_code == 0, applied.output
    assert "fdlcl-detect" in names(sites.cloud)
    with sites.edge.client() as http:
        shown = http.get("/system/services/fdlcl-split").json()
    assert shown["clusters"]["cloud"]["auth_password"] == "hidden"
    assert shown["storage_providers"]["minio"]["cloud"]["secret_key"] == "hidden"


def test_unknown_cluster_id(sites: Sites, config: Path, tmp_path: Path) -> None:
    fdl = write_fdl(tmp_path, [("moon", service("nope", "nope/in", [], "x"))])
    result = cli(config, "apply", str(fdl))
    assert result.exit_code != 0
    assert f"{fdl}:{line_of(fdl, 'moon:')}" in result.output and "unknown cluster" in result.output


def test_unknown_provider(sites: Sites, config: Path, tmp_path: Path) -> None:
    edge = service("lost-split", "lost/in", [("minio.mars", "lost/mid")], "edge")
    fdl = write_fdl(tmp_path, [("edge", edge)])
    result = cli(config, "apply", str(fdl))
    assert result.exit_code != 0
    assert f"{fdl}:{line_of(fdl, 'minio.mars')}" in result.output, result.output
    assert "'minio.mars' is not defined" in result.output
    assert "lost-split" not in names(sites.edge)


def test_unknown_replica_cluster(sites: Sites, config: Path, tmp_path: Path) -> None:
    replica = {"type": "oscar", "cluster_id": "venus", "service_name": "x", "priority": 0}
    edge = service("rep-split", "rep/in", [], "edge", replicas=[replica])
    fdl = write_fdl(tmp_path, [("edge", edge)])
    result = cli(config, "apply", str(fdl))
    assert result.exit_code != 0
    assert f"{fdl}:{line_of(fdl, 'cluster_id: venus')}" in result.output, result.output
    assert "unknown cluster 'venus'" in result.output


def test_wrong_credentials_for_the_other_cluster(sites: Sites, tmp_path: Path) -> None:
    config = write_config(sites, tmp_path / "config.yaml", only=("edge",))
    wrong = {**sites.cloud.cluster_entry(), "auth_password": "not-the-password"}
    fdl = chain(sites, tmp_path, "badpw", clusters={"cloud": wrong})
    result = cli(config, "apply", str(fdl))
    assert result.exit_code != 0
    assert "cluster 'cloud'" in result.output and "refused the credentials" in result.output
    assert "not-the-password" not in result.output
    assert "badpw-split" not in names(sites.edge)  # nothing half-created
    assert "badpw-detect" not in names(sites.cloud)


def test_wrong_store_keys_leave_nothing_behind(sites: Sites, config: Path, tmp_path: Path) -> None:
    """The edge refuses its service (the cloud's store does not take these keys) after the
    cloud's service was created: that one is taken back."""
    bad = {**sites.cloud.minio_provider(), "secret_key": "wrong-secret"}
    edge = service("keys-split", "keys/input", [("minio.cloud", "keys/mid")], "edge")
    cloud = service("keys-detect", "keys/mid", [("minio.default", "keys/out")], "cloud")
    fdl = write_fdl(tmp_path, [("cloud", cloud), ("edge", edge)], {"cloud": bad})
    result = cli(config, "apply", str(fdl))
    assert result.exit_code != 0, result.output
    assert "keys-split" in result.output and "undone: the 1 service(s)" in result.output
    assert "wrong-secret" not in result.output
    assert "keys-detect" not in names(sites.cloud)
    assert "keys-split" not in names(sites.edge)


def test_unreachable_cluster(sites: Sites, tmp_path: Path) -> None:
    """A cluster at an address of the sites' own network where nothing answers."""
    config = write_config(sites, tmp_path / "config.yaml", only=("edge",))
    nobody = {**sites.cloud.cluster_entry(), "endpoint": f"http://10.249.{sites.n}.3:8080"}
    fdl = chain(sites, tmp_path, "gone", clusters={"cloud": nobody})
    result = cli(config, "apply", str(fdl))
    assert result.exit_code != 0
    assert "cluster 'cloud'" in result.output and "unreachable" in result.output, result.output
    assert "nothing was applied" in result.output
    assert "gone-split" not in names(sites.edge)


def test_loop_through_the_other_clusters_store(sites: Sites, config: Path, tmp_path: Path) -> None:
    edge = service("loop-a", "loop/in", [("minio.cloud", "loop/mid")], "edge")
    cloud = service("loop-b", "loop/mid", [("minio.edge", "loop/in/again")], "cloud")
    providers = {"cloud": sites.cloud.minio_provider(), "edge": sites.edge.minio_provider()}
    fdl = write_fdl(tmp_path, [("edge", edge), ("cloud", cloud)], providers)
    result = cli(config, "apply", str(fdl))
    assert result.exit_code != 0
    assert "loop-a@edge → loop-b@cloud → loop-a@edge" in result.output, result.output
    assert f"{fdl}:{line_of(fdl, 'output:')}" in result.output
    assert "loop-a" not in names(sites.edge) and "loop-b" not in names(sites.cloud)


def test_loop_closed_by_a_later_apply(sites: Sites, config: Path, tmp_path: Path) -> None:
    """The first half is on the cloud already; the edge half that closes the loop is refused."""
    cloud = service("later-b", "later/mid", [("minio.edge", "later/in")], "cloud")
    first = write_fdl(
        tmp_path, [("cloud", cloud)], {"edge": sites.edge.minio_provider()}, name="b.yaml"
    )
    assert cli(config, "apply", str(first)).exit_code == 0
    edge = service("later-a", "later/in", [("minio.cloud", "later/mid")], "edge")
    second = write_fdl(
        tmp_path, [("edge", edge)], {"cloud": sites.cloud.minio_provider()}, name="a.yaml"
    )
    result = cli(config, "apply", str(second))
    assert result.exit_code != 0
    assert "later-a@edge → later-b@cloud → later-a@edge" in result.output, result.output
    assert "later-a" not in names(sites.edge)


def test_other_clusters_secrets_never_in_answers_or_logs(sites: Sites) -> None:
    """After everything above: no password or key of the other cluster in either site's API
    answers (the services as listed) or in its log."""
    secrets = [sites.cloud.password or "", sites.cloud.minio_provider()["secret_key"]]
    assert all(len(secret) >= 8 for secret in secrets)
    for site in (sites.edge, sites.cloud):
        with site.client() as http:
            listed = http.get("/system/services").text
            outbox = http.get("/system/outbox").text
        log = site.log_path.read_text(errors="replace")
        for secret in secrets:
            if site is sites.cloud and secret == sites.cloud.password:
                continue  # the cloud's own admin password is in its own environment only
            assert secret not in listed and secret not in outbox and secret not in log
