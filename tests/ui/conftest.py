"""Browser tests of the web UI: Debian's Chromium driven by Playwright, never a downloaded
browser. ``scripts/install-chromium`` installs it; ``scripts/test`` runs it."""

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.sluice_process import SluiceProcess

CHROMIUM = "/usr/bin/chromium"
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "ui"
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-chromium")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # --no-sandbox: Chromium's own sandbox refuses to start as root (tests and CI run as root).
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    try:
        yield browser
    finally:
        browser.close()


class Requests:
    """Every URL the browser asked for, to prove the UI fetches nothing beyond its server."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def foreign(self) -> list[str]:
        return [u for u in self.urls if urlsplit(u).hostname not in {"127.0.0.1"}]


@pytest.fixture(scope="module")
def requests_seen() -> Requests:
    return Requests()


@pytest.fixture(scope="module")
def context(
    browser: Browser, requests_seen: Requests, sluice_server: SluiceProcess
) -> Iterator[BrowserContext]:
    """Depends on the server so that it closes first: its open event streams end with it."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.on("request", lambda request: requests_seen.urls.append(request.url))
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This run's screenshots (test artefacts under pytest's basetemp)."""
    return tmp_path_factory.mktemp("screenshots")


def screenshot(page: Page, folder: Path, name: str, docs: bool = False) -> Path:
    """Save a screenshot as an artefact; with SLUICE_UI_DOCS=1, also as docs/ui/<name>.png,
    the README's pictures (made only when asked, so a test run leaves the tree clean)."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    if docs and os.environ.get("SLUICE_UI_DOCS") == "1":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SHOTS / f"{name}.png"))
    return path
