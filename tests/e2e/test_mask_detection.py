"""Issue 10, part 5: the seeds' mask-detection pipeline (examples/mask-detection) on two real
``sluice up`` (edge and cloud: on loopback ports, then as two sites in their own network
namespaces) and a WebDAV store, applied from its FDL.

A video uploaded to the edge becomes anonymised frames in the cloud's store; the cloud's own
upload events start its handler service, whose results land in its store and on WebDAV.
Checked numerically: the blurred band of every face in the result frames has lost its detail,
and every face is classified as the sample video says (masked or not)."""

import base64
import io
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from tests.continuum.sites import two_sites
from tests.e2e.helpers import keys_under, s3_client, statuses, wait_for
from tests.servers import DavServer, dav_server
from tests.sluice_process import SluiceProcess, running_sluice
from typer.testing import CliRunner

from sluice.cli.main import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mask-detection"
VIDEO = "sample"
BLUR_TOP = 0.45  # the FDL's BLUR_TOP
INSET = 6  # pixels kept off a box's border: the annotation's rectangle is drawn there


def example_module(name: str) -> ModuleType:
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    return __import__(name)


Deployment = tuple[SluiceProcess, SluiceProcess, DavServer]  # edge, cloud, long-term store


@pytest.fixture(scope="module", params=["one machine", "two sites"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Edge and cloud as two ``sluice up`` on loopback ports, or as two sites in their own
    network namespaces that reach each other over their link only (tests/continuum/sites.py);
    the WebDAV store on loopback, or on the host's leg of the sites' network."""
    base = tmp_path_factory.mktemp("sites")
    longterm = tmp_path_factory.mktemp("longterm")
    if request.param == "one machine":
        with (
            running_sluice(base / "edge") as edge,
            running_sluice(base / "cloud") as cloud,
            dav_server(longterm) as dav,
        ):
            yield edge, cloud, dav
        return
    with two_sites(base) as sites, dav_server(longterm, f"10.249.{sites.n}.254") as dav:
        yield sites.edge, sites.cloud, dav


@pytest.fixture(scope="module")
def edge(deployment: Deployment) -> SluiceProcess:
    return deployment[0]


@pytest.fixture(scope="module")
def cloud(deployment: Deployment) -> SluiceProcess:
    return deployment[1]


@pytest.fixture(scope="module")
def dav(deployment: Deployment) -> DavServer:
    return deployment[2]


@pytest.fixture(scope="module")
def applied(
    edge: SluiceProcess,
    cloud: SluiceProcess,
    dav: DavServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The README's steps: both clusters added, the FDL configured, then applied."""
    folder = tmp_path_factory.mktemp("cli")
    config = folder / "config.yaml"
    runner = CliRunner()
    for cluster_id, server in (("edge", edge), ("cloud", cloud)):
        added = runner.invoke(
            app,
            [
                *("--config", str(config), "cluster", "add", cluster_id),
                *(server.url, server.user, server.password or ""),
            ],
        )
        assert added.exit_code == 0, added.output
    fdl = example_module("configure").main(
        [
            "--config", str(config),
            "--webdav", dav.url,
            "--webdav-login", dav.login,
            "--webdav-password", dav.password,
            "--output", str(folder / "mask-detection.local.yaml"),
        ]
    )  # fmt: skip
    assert fdl.stat().st_mode & 0o077 == 0, "the filled FDL holds secrets"
    applied = runner.invoke(app, ["--config", str(config), "apply", str(fdl)])
    assert applied.exit_code == 0, applied.output
    return fdl


@pytest.fixture(scope="module")
def results(
    applied: Path, edge: SluiceProcess, cloud: SluiceProcess, dav: DavServer
) -> dict[str, Any]:
    """The sample video uploaded to the edge; the cloud's results once they are all there."""
    video = example_module("sample_video").write_video(applied.parent / f"{VIDEO}.mp4")
    scenes = len(example_module("sample_video").SCENES)
    expected = sorted(
        f"result/{VIDEO}/frame-{n:04d}.{ext}"
        for n in range(1, scenes + 1)
        for ext in ("jpg", "json")
    )
    with edge.client() as edge_http, cloud.client() as cloud_http:
        s3_client(edge_http).upload_file(str(video), "mask-detector", f"input/{VIDEO}.mp4")
        cloud_s3 = s3_client(cloud_http)
        wait_for(
            lambda: keys_under(cloud_s3, "mask-detector", "result/") == expected,
            timeout=240,
            what="every frame's result in the cloud's store",
        )
        # A job's outputs are uploaded before it is recorded as finished.
        recorded(edge_http, "anon-and-split", 1)
        recorded(cloud_http, "mask-detector", scenes)
        files = {
            key: cloud_s3.get_object(Bucket="mask-detector", Key=key)["Body"].read()
            for key in expected
        }
        return {
            "files": files,
            "intermediate": keys_under(cloud_s3, "mask-detector", "intermediate/"),
            "edge_jobs": statuses(edge_http, "anon-and-split"),
            "cloud_jobs": statuses(cloud_http, "mask-detector"),
            "edge_buckets": keys_under(s3_client(edge_http), "mask-detector", ""),
        }


def recorded(http: httpx.Client, service: str, count: int) -> None:
    def finished() -> bool:
        return len([s for s in statuses(http, service) if s in ("Succeeded", "Failed")]) == count

    wait_for(finished, timeout=60, what=f"{count} finished job(s) of {service}")


def frames_of(results: dict[str, Any]) -> list[tuple[dict[str, Any], np.ndarray]]:
    files = results["files"]
    out = []
    for key in sorted(k for k in files if k.endswith(".json")):
        image = cv2.imdecode(np.frombuffer(files[key[:-5] + ".jpg"], np.uint8), cv2.IMREAD_COLOR)
        out.append((json.loads(files[key]), image))
    return out


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_video_on_the_edge_becomes_frames_in_the_cloud(results: dict[str, Any]) -> None:
    scenes = len(example_module("sample_video").SCENES)
    assert results["intermediate"] == [
        f"intermediate/{VIDEO}/frame-{n:04d}.jpg" for n in range(1, scenes + 1)
    ]
    assert results["edge_jobs"] == ["Succeeded"]
    assert results["cloud_jobs"] == ["Succeeded"] * scenes
    assert not [k for k in results["edge_buckets"] if not k.startswith("input/")], (
        "frames go to the cloud's store, not the edge's"
    )


def test_masked_faces_are_classified_as_masked(results: dict[str, Any]) -> None:
    sample_video = example_module("sample_video")
    seen = []
    for summary, _ in frames_of(results):
        scene = sample_video.scene_at(summary["time"])
        verdicts = tuple(face["mask"] for face in summary["faces"])
        seen.append((scene.name, [face["p_mask"] for face in summary["faces"]]))
        assert summary["video"] == VIDEO
        assert verdicts == scene.masks, (scene.name, summary["faces"])
    print("p(mask) per scene:", seen)
    assert [name for name, _ in seen] == [scene.name for scene in sample_video.SCENES]


def test_faces_in_the_result_frames_are_blurred(results: dict[str, Any]) -> None:
    sample_video = example_module("sample_video")
    measured = []
    for summary, frame in frames_of(results):
        original = sample_video.scene_at(summary["time"]).image()
        for face in summary["faces"]:
            x0, y0, x1, y1 = face["box"]
            band = (
                slice(y0 + INSET, y0 + round(BLUR_TOP * (y1 - y0)) - 2),
                slice(x0 + INSET, x1 - INSET),
            )
            blurred = sharpness(frame[band]) / sharpness(original[band])
            measured.append(round(blurred, 4))
            assert blurred < 0.05, f"the eyes of a face at {face['box']} are not blurred"
        # Away from the faces (the lower left corner) the frame is the video's own.
        corner = (slice(400, 500), slice(10, 110))
        change = np.abs(frame[corner].astype(int) - original[corner]).mean()
        assert change < 8, "only the faces are changed"
        assert sharpness(frame[corner]) / sharpness(original[corner]) > 0.5
    print("eye-band sharpness, result / original:", measured)
    assert len(measured) == sum(len(scene.masks) for scene in sample_video.SCENES)


def test_results_are_copied_to_the_long_term_store(results: dict[str, Any], dav: DavServer) -> None:
    for key, data in results["files"].items():
        copy = dav.root / "mask-detector" / key
        assert copy.is_file(), f"{key} is not on the WebDAV store"
        assert copy.read_bytes() == data


def test_run_on_a_bare_frame_detects_the_face_itself(
    results: dict[str, Any], cloud: SluiceProcess
) -> None:
    """A frame without the edge's metadata (a plain photo sent to /run) is searched for faces."""
    ok, jpeg = cv2.imencode(".jpg", example_module("sample_video").astronaut_masked())
    assert ok
    with cloud.client() as http:
        token = http.get("/system/services/mask-detector").json()["token"]
    response = httpx.post(
        f"{cloud.url}/run/mask-detector",
        content=base64.b64encode(jpeg.tobytes()),
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(response.text)))
    summaries = [json.loads(archive.read(n)) for n in archive.namelist() if n.endswith(".json")]
    assert [[face["mask"] for face in s["faces"]] for s in summaries] == [[True]]


def test_the_fdl_names_two_clusters_and_the_cloud_store() -> None:
    from sluice.fdl import load_fdl

    services = {s.name: s for s in load_fdl(EXAMPLE / "mask-detection.yaml").services}
    assert {name: s.cluster_id for name, s in services.items()} == {
        "anon-and-split": "edge",
        "mask-detector": "cloud",
    }
    edge_output = services["anon-and-split"].definition["output"]
    assert [o["storage_provider"] for o in edge_output] == ["minio.cloud"]
    cloud = services["mask-detector"].definition
    assert cloud["handler"] == "detect_masks:detect"
    assert [o["storage_provider"] for o in cloud["output"]] == ["minio.default", "webdav.longterm"]
