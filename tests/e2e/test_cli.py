"""The CLI against a real ``sluice up``: clusters, apply/update, service list/get/remove, delete."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.e2e.helpers import keys_under, s3_client, wait_for
from tests.sluice_process import SluiceProcess
from typer.testing import CliRunner, Result

from sluice.cli.main import app

pytestmark = pytest.mark.slow

Sluice = Callable[..., Result]

SCRIPT = '#!/bin/sh\r\necho "hello from $INPUT_FILE_PATH"\r\n'

FDL = """\
functions:
  oscar:
  - {cluster}:
      name: {name}
      image: ghcr.io/grycap/cowsay
      cpu: '0.5'
      memory: {memory}
      log_level: CRITICAL
      script: scripts/hello.sh
      environment:
        Variables:
          GREETING: hi
      input:
      - storage_provider: minio.default
        path: {name}/in
      output:
      - storage_provider: minio.default
        path: {name}/out
"""
MEMORY_LINE = 7


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "config.yaml"


@pytest.fixture
def sluice(sluice_server: SluiceProcess, config: Path) -> Sluice:
    def run(*args: str) -> Result:
        return CliRunner().invoke(app, ["--config", str(config), *args])

    password = sluice_server.password or ""
    added = run("cluster", "add", "local", sluice_server.url, sluice_server.user, password)
    assert added.exit_code == 0, added.output
    return run


def write_fdl(
    folder: Path, name: str, memory: str = "256Mi", cluster: str = "local", file: str = "fdl.yaml"
) -> Path:
    (folder / "scripts").mkdir(exist_ok=True)
    (folder / "scripts" / "hello.sh").write_text(SCRIPT, newline="")
    path = folder / file
    path.write_text(FDL.format(cluster=cluster, name=name, memory=memory))
    return path


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def test_cluster_info(sluice: Sluice) -> None:
    info = yaml.safe_load(ok(sluice("cluster", "info")).stdout)
    assert "version" in info


def test_apply_create_then_update_list_get_remove(sluice: Sluice, tmp_path: Path) -> None:
    fdl = write_fdl(tmp_path, "e2e-hello")
    assert ok(sluice("apply", str(fdl))).stdout == (
        "created service 'e2e-hello' on cluster 'local'\n"
    )

    listed = json.loads(ok(sluice("service", "list", "-o", "json")).stdout)
    assert "e2e-hello" in [s["name"] for s in listed]
    table = ok(sluice("service", "list")).stdout
    assert table.splitlines()[0].split() == ["NAME", "IMAGE", "CPU", "MEMORY", "INPUTS", "OUTPUTS"]
    row = next(line for line in table.splitlines() if line.startswith("e2e-hello"))
    assert row.split()[:4] == ["e2e-hello", "ghcr.io/grycap/cowsay", "0.5", "256Mi"]
    assert "e2e-hello/in" in row

    service = yaml.safe_load(ok(sluice("service", "get", "e2e-hello")).stdout)
    assert service["script"] == SCRIPT.replace("\r\n", "\n")
    assert service["cluster_id"] == "local"
    assert len(service["token"]) == 64

    write_fdl(tmp_path, "e2e-hello", memory="512Mi")
    assert ok(sluice("apply", str(fdl))).stdout == (
        "updated service 'e2e-hello' on cluster 'local'\n"
    )
    updated = json.loads(ok(sluice("service", "get", "e2e-hello", "-o", "json")).stdout)
    assert updated["memory"] == "512Mi"
    assert updated["token"] == service["token"]

    removed = ok(sluice("service", "remove", "e2e-hello"))
    assert removed.stdout == "removed service 'e2e-hello'\n"
    gone = sluice("service", "get", "e2e-hello")
    assert gone.exit_code == 1
    assert gone.stderr.startswith("error: GET /system/services/e2e-hello: 404")
    assert len(gone.stderr.splitlines()) == 1


def test_bad_field_points_at_the_fdl_line(sluice: Sluice, tmp_path: Path) -> None:
    fdl = write_fdl(tmp_path, "e2e-bad", memory="lots")
    result = sluice("apply", str(fdl))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {fdl}:{MEMORY_LINE}: memory: "), result.stderr
    assert "Traceback" not in result.output


def test_delete_fdl(sluice: Sluice, tmp_path: Path) -> None:
    fdl = write_fdl(tmp_path, "e2e-delete", cluster="default-cluster")
    ok(sluice("apply", str(fdl)))
    assert ok(sluice("delete", str(fdl))).stdout == (
        "deleted service 'e2e-delete' on cluster 'local'\n"
    )
    again = ok(sluice("delete", str(fdl)))
    assert "service 'e2e-delete' not found on cluster 'local'" in again.stderr
    listed = json.loads(ok(sluice("service", "list", "-o", "json")).stdout)
    assert "e2e-delete" not in [s["name"] for s in listed]


def test_unknown_cluster_key_unless_overridden(sluice: Sluice, tmp_path: Path) -> None:
    fdl = write_fdl(tmp_path, "e2e-elsewhere", cluster="prod")
    refused = sluice("apply", str(fdl))
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"error: {fdl}:3:5: prod: unknown cluster (configured: local)")
    ok(sluice("apply", str(fdl), "--cluster", "local"))
    assert ok(sluice("service", "remove", "e2e-elsewhere", "-c", "local"))


def test_wrong_password_is_one_line(
    sluice_server: SluiceProcess, config: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    args = ["--config", str(config), "cluster", "add", "bad", sluice_server.url, "oscar", "nope"]
    ok(runner.invoke(app, args))
    result = runner.invoke(app, ["--config", str(config), "service", "list", "-c", "bad"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: GET /system/services: 401")


def test_console_script_reports_errors_without_traceback(
    sluice: Sluice, config: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "SLUICE_CONFIG": str(config)}
    argv = [sys.executable, "-m", "sluice", "service", "get", "no-such-service"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("error: GET /system/services/no-such-service: 404")
    assert "Traceback" not in done.stderr


# The shape of OSCAR's examples/simple-test (written here): CRLF line ends, tabs after a value,
# an image the process runtime does not use, a script run by /bin/sh whose echo turns "\n" into
# a line break. Plus a typo, which is reported and ignored.
SIMPLE_FDL = (
    "functions:\r\n"
    "  oscar:\r\n"
    "  - local:\r\n"
    "     name: e2e-simple\r\n"
    "     memory: 256Mi\r\n"
    "     cpu: '1.0'\r\n"
    "     image: ubuntu\r\n"
    "     script: analyse.sh\r\n"
    "     log_level: CRITICAL\t\t\r\n"
    "     memroy: 1Gi\r\n"
    "     input:\r\n"
    "     - storage_provider: minio.default\r\n"
    "       path: e2e-simple/input\r\n"
    "     output:\r\n"
    "     - storage_provider: minio.default\r\n"
    "       path: e2e-simple/output\r\n"
)
ANALYSE = """#!/bin/bash
NAME=`basename "$INPUT_FILE_PATH" | cut -d. -f1`
OUT="$TMP_OUTPUT_DIR/$NAME-out.txt"
cat "$INPUT_FILE_PATH" > "$OUT"
echo "\\nAnalysis:" >> "$OUT"
echo "Words: $(wc -w < "$INPUT_FILE_PATH")" >> "$OUT"
"""


def test_an_oscar_style_fdl_with_tabs_runs_with_warnings(
    sluice: Sluice, tmp_path: Path, http: Any
) -> None:
    (tmp_path / "analyse.sh").write_text(ANALYSE)
    fdl = tmp_path / "simple.yaml"
    fdl.write_bytes(SIMPLE_FDL.encode())
    applied = ok(sluice("apply", str(fdl)))
    assert applied.stdout == "created service 'e2e-simple' on cluster 'local'\n"
    warnings = applied.stderr.splitlines()
    assert f"warning: {fdl}:10: memroy: unknown field, ignored" in warnings
    assert any(
        line.startswith(f"warning: {fdl}:7: image: 'ubuntu' is not used") for line in warnings
    ), warnings

    s3 = s3_client(http)
    s3.put_object(Bucket="e2e-simple", Key="input/fox.txt", Body=b"The quick brown fox jumps")
    wait_for(lambda: keys_under(s3, "e2e-simple", "output/"), what="the analysis")
    text = s3.get_object(Bucket="e2e-simple", Key="output/fox-out.txt")["Body"].read().decode()
    assert text == "The quick brown fox jumps\nAnalysis:\nWords: 5\n"
