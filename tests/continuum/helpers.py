"""FDL files and CLI runs for the two-site tests."""

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner, Result

from sluice.cli.main import app
from tests.continuum.sites import Sites

# Each stage appends its mark, so a result shows every stage it went through, once.
MARK = 'cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/$(basename "$INPUT_FILE_PATH")"\n'
MARK += 'echo "{mark}" >> "$TMP_OUTPUT_DIR/$(basename "$INPUT_FILE_PATH")"\n'


def write_config(sites: Sites, path: Path, only: tuple[str, ...] = ("edge", "cloud")) -> Path:
    clusters = {k: v for k, v in sites.cli_config().items() if k in only}
    path.write_text(yaml.safe_dump({"oscar": clusters, "default": only[0]}))
    return path


def cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(config), *args])


def service(
    name: str,
    inputs: str,
    outputs: list[tuple[str, str]],
    mark: str,
    script: str = "mark.sh",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "script": script,
        "environment": {"Variables": {"MARK": mark}},
        "input": [{"storage_provider": "minio.default", "path": inputs}],
        "output": [{"storage_provider": p, "path": path} for p, path in outputs],
        **extra,
    }


def write_fdl(
    folder: Path,
    services: list[tuple[str, dict[str, Any]]],
    providers: dict[str, Any] | None = None,
    clusters: dict[str, Any] | None = None,
    name: str = "fdl.yaml",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mark.sh").write_text(MARK.replace("{mark}", "$MARK"))
    fdl: dict[str, Any] = {"functions": {"oscar": [{c: s} for c, s in services]}}
    if providers:
        fdl["storage_providers"] = {"minio": providers}
    if clusters:
        fdl["clusters"] = clusters
    path = folder / name
    path.write_text(yaml.safe_dump(fdl, sort_keys=False))
    return path


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first line of ``path`` that contains ``text``."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")
