"""One FDL, unchanged, on the process, container and Kubernetes runtimes: the same outputs."""

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sluice.cli.main import app
from tests.e2e.helpers import keys_under, s3_client, wait_for
from tests.kubernetes.conftest import kubernetes_sluice
from tests.sluice_process import SluiceProcess

FDL = Path(__file__).parent / "fdl" / "upper.yaml"
FILES = {"in/a.txt": b"hello world\n", "in/deep/b.txt": b"Kubernetes, containers, processes\n"}


def outputs_of(server: SluiceProcess, config: Path) -> dict[str, bytes]:
    def cli(*args: str) -> None:
        result = CliRunner().invoke(app, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output

    cli("cluster", "add", "local", server.url, server.user, server.password or "")
    cli("apply", str(FDL))
    with server.client() as http:
        s3: Any = s3_client(http)
        for key, body in FILES.items():
            s3.put_object(Bucket="same-upper", Key=key, Body=body)
        wait_for(
            lambda: len(keys_under(s3, "same-upper", "out/")) == 3 * len(FILES),
            180,
            "every output",
        )
        return {
            key: s3.get_object(Bucket="same-upper", Key=key)["Body"].read()
            for key in keys_under(s3, "same-upper", "out/")
        }


@pytest.mark.parametrize("runtime", ["process", "container", "kubernetes"])
def test_one_fdl_gives_the_same_outputs_on_every_runtime(
    runtime: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data = tmp_path / "data"
    if runtime == "kubernetes":
        server = kubernetes_sluice(data, request.getfixturevalue("cluster"), "t-same")
    else:
        env = {"SLUICE_RUNTIME": runtime, "SLUICE_IMAGE_PULL": "never"}
        server = SluiceProcess(data_dir=data, env=env)
    server.start(timeout=120)
    try:
        outputs = outputs_of(server, tmp_path / "config.yaml")
    finally:
        server.stop()
    assert outputs == EXPECTED


EXPECTED = {
    "out/a.txt.upper": b"HELLO WORLD\n",
    "out/a.txt.copy": b"hello world\n",
    "out/a.txt.key": b"in/a.txt\n",
    "out/b.txt.upper": b"KUBERNETES, CONTAINERS, PROCESSES\n",
    "out/b.txt.copy": b"Kubernetes, containers, processes\n",
    "out/b.txt.key": b"in/deep/b.txt\n",
}
