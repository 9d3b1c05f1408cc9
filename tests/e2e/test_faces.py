"""Issue 4: the face-blurring example (OpenCV's bundled Haar detector, scikit-image photos),
as a script service and as a handler service, applied from its FDL with the CLI."""

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from tests.e2e.helpers import keys_under, s3_client, wait_for
from tests.sluice_process import SluiceProcess
from typer.testing import CliRunner

from sluice.cli.main import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "faces"


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import sys

    sys.path.insert(0, str(EXAMPLE))
    from sample_images import write_samples

    return {path.stem: path for path in write_samples(tmp_path_factory.mktemp("images"))}


@pytest.fixture(scope="module")
def http(
    sluice_server: SluiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    config = tmp_path_factory.mktemp("cli") / "config.yaml"
    runner = CliRunner()
    base = ["--config", str(config)]
    added = runner.invoke(
        app,
        [
            *base,
            "cluster",
            "add",
            "local",
            sluice_server.url,
            sluice_server.user,
            sluice_server.password or "",
        ],
    )
    assert added.exit_code == 0, added.output
    applied = runner.invoke(app, [*base, "apply", str(EXAMPLE / "faces.yaml")])
    assert applied.exit_code == 0, applied.output
    with sluice_server.client() as client:
        yield client


def face_count(s3: Any, key: str) -> int:
    body = s3.get_object(Bucket="faces", Key=key)["Body"].read()
    return len(json.loads(body)["faces"])


@pytest.mark.parametrize(("service", "folder"), [("blur", ""), ("blur-script", "script-")])
def test_uploads_are_blurred(
    http: httpx.Client, images: dict[str, Path], service: str, folder: str
) -> None:
    s3 = s3_client(http)
    for name in ("astronaut", "coffee"):
        s3.upload_file(str(images[name]), "faces", f"{folder}in/{name}.png")
    expected = sorted(
        f"{folder}out/{n}.png{extra}"
        for n in ("astronaut", "coffee")
        for extra in ("", ".faces.json")
    )
    wait_for(
        lambda: keys_under(s3, "faces", f"{folder}out/") == expected, timeout=120, what="outputs"
    )
    assert face_count(s3, f"{folder}out/astronaut.png.faces.json") == 1
    assert face_count(s3, f"{folder}out/coffee.png.faces.json") == 0
    blurred = s3.get_object(Bucket="faces", Key=f"{folder}out/astronaut.png")["Body"].read()
    after = cv2.imdecode(np.frombuffer(blurred, np.uint8), cv2.IMREAD_COLOR)
    before = cv2.imread(str(images["astronaut"]))
    x, y, w, h = json.loads(
        s3.get_object(Bucket="faces", Key=f"{folder}out/astronaut.png.faces.json")["Body"].read()
    )["faces"][0]
    face_change = np.abs(
        after[y : y + h, x : x + w].astype(int) - before[y : y + h, x : x + w]
    ).mean()
    elsewhere = np.abs(after[:50, :50].astype(int) - before[:50, :50]).mean()
    assert face_change > 5 > elsewhere


def test_run_returns_zip_with_image_and_boxes(http: httpx.Client, images: dict[str, Path]) -> None:
    token = http.get("/system/services/blur").json()["token"]
    response = httpx.post(
        str(http.base_url.join("/run/blur")),
        content=base64.b64encode(images["astronaut"].read_bytes()),
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(response.text)))
    names = sorted(archive.namelist())
    assert names == ["input.png", "input.png.faces.json"]
    assert len(json.loads(archive.read("input.png.faces.json"))["faces"]) == 1
