"""Container runtime tests: a real ``sluice up --runtime container`` per module, on real podman
with the test images of ``scripts/test-images`` (nothing is ever pulled)."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from sluice.datadir import DataDir
from tests.sluice_process import SluiceProcess

ROOT = Path(__file__).resolve().parents[2]
BUSYBOX = "localhost/sluice/busybox:latest"
PYTHON = "localhost/sluice/debian-python:bookworm"


@pytest.fixture(scope="session", autouse=True)
def test_images() -> None:
    """The images must have been built (``scripts/test`` builds them); say how otherwise."""
    argv = [str(ROOT / "scripts" / "test-images"), "--check"]
    check = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check.returncode != 0:
        detail = check.stdout + check.stderr
        pytest.fail(f"container test images are not ready; run scripts/test-images\n{detail}")


@pytest.fixture(scope="module")
def sluice_env() -> dict[str, str]:
    return {
        "SLUICE_RUNTIME": "container",
        "SLUICE_IMAGE_PULL": "never",
        "SLUICE_RETRY_BACKOFF": "0.2",
        "SLUICE_MAX_ATTEMPTS": "1",
    }


@pytest.fixture(scope="module")
def engine(sluice_server: SluiceProcess) -> Iterator[docker.DockerClient]:
    """The podman service that this module's Sluice started for itself."""
    socket = sluice_server.data_dir / "engine" / "podman.sock"
    client = docker.DockerClient(base_url=f"unix://{socket}", version="1.41")
    try:
        yield client
    finally:
        client.close()


def containers_of(engine: docker.DockerClient, service: str, data_dir: Path) -> list[str]:
    """The containers of ``service`` that the Sluice on ``data_dir`` made (other Sluices on
    this machine share the engine's store)."""
    labels = [f"sluice.service={service}", f"sluice.instance={DataDir(data_dir).instance}"]
    # sparse: no inspect per container, which fails for one removed meanwhile
    found = engine.containers.list(all=True, sparse=True, filters={"label": labels})
    return [container.id for container in found]
