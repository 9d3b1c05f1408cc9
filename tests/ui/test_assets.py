"""The UI's files ship in the wheel and are all served: what the package-data glob and the
route's list of assets must agree on."""

import fnmatch
import tomllib
from pathlib import Path

from sluice.api.routes.ui import ASSETS

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "src" / "sluice" / "ui"


def test_every_ui_file_is_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["sluice"]
    for path in UI.rglob("*"):
        relative = path.relative_to(UI.parent).as_posix()
        assert any(fnmatch.fnmatch(relative, p) and "/" not in relative[3:] for p in patterns), (
            relative
        )


def test_every_ui_file_is_served() -> None:
    assert {p.name for p in UI.iterdir()} == {"index.html", *ASSETS}


def test_the_page_loads_nothing_from_elsewhere() -> None:
    page = (UI / "index.html").read_text()
    assert "http://" not in page and "https://" not in page and "//" not in page.replace("://", "")
