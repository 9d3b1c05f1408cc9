"""The web UI in a real browser against a real ``sluice up``: what a new user does, end to end,
and what bad input shows. One server for the module; the tests run in order and share it."""

import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.helpers import keys_under, s3_client
from tests.sluice_process import SluiceProcess
from tests.ui.conftest import Requests, screenshot

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "copy"
LIVE = 60_000  # ms a job may take to reach the page (behaviour is checked, not speed)
FILES = {"one.txt": "alpha beta\n", "two.txt": "gamma delta epsilon\n", "three.txt": "zeta\n"}

TALLY_FDL = """\
functions:
  oscar:
  - local:
      name: tally
      memory: 64Mi
      cpu: '0.2'
      script: tally.sh
      input:
      - storage_provider: minio.default
        path: copy/out
        suffix: [.words]
      output:
      - storage_provider: minio.default
        path: tally/out
"""
TALLY_SH = 'cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/"\n'
FLAKY_FDL = """\
functions:
  oscar:
  - local:
      name: flaky
      memory: 64Mi
      cpu: '0.2'
      max_attempts: 1
      script: flaky.sh
      input:
      - storage_provider: minio.default
        path: flaky/in
      output:
      - storage_provider: minio.default
        path: flaky/out
"""
FLAKY_SH = 'echo "no luck with $(basename "$INPUT_FILE_PATH")"\nexit 3\n'
BROKEN_FDL = """\
functions:
  oscar:
  - local:
      name: broken
      cpu: '0.2'
      memory: lots
      script: broken.sh
"""
BAD_YAML = "functions:\n  oscar:\n  - local: {name: x\n"


@pytest.fixture(scope="module")
def sluice_env() -> dict[str, str]:
    return {"SLUICE_MAX_BODY": "1Mi", "SLUICE_RETRY_BACKOFF": "0.1"}


@pytest.fixture(scope="module")
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ui-files")
    for name, text in {
        **FILES,
        "tally.yaml": TALLY_FDL,
        "tally.sh": TALLY_SH,
        "flaky.yaml": FLAKY_FDL,
        "flaky.sh": FLAKY_SH,
        "broken.yaml": BROKEN_FDL,
        "broken.sh": "echo\n",
        "bad.yaml": BAD_YAML,
        "stray.txt": "nobody reads me\n",
    }.items():
        (folder / name).write_text(text)
    (folder / "big.bin").write_bytes(b"\0" * (2 << 20))
    return folder


def stored(http: httpx.Client) -> dict[str, Any]:
    """What Sluice keeps: every service's definition, every object, and every job."""
    services = {s["name"]: s for s in http.get("/system/services").json()}
    s3 = s3_client(http)
    buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    objects = {bucket: keys_under(s3, bucket, "") for bucket in buckets}
    jobs = {name: http.get(f"/system/logs/{name}").json()["jobs"] for name in services}
    return {"services": services, "objects": objects, "jobs": jobs}


def login(page: Page, server: SluiceProcess, password: str) -> None:
    page.goto(f"{server.url}/")
    page.get_by_label("User").fill(server.user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def drop_fdl(page: Page, *paths: Path) -> None:
    page.evaluate("location.hash = '#/services'")
    page.set_input_files("#fdl-files", [str(p) for p in paths])


def go(page: Page, hash_: str) -> None:
    page.evaluate(f"location.hash = {json.dumps(hash_)}")


# ---- bad input first: each leaves everything stored as it was -------------------------------


def test_wrong_password_shows_a_message_and_gives_no_session(
    page: Page, sluice_server: SluiceProcess, http: httpx.Client, shots: Path
) -> None:
    login(page, sluice_server, "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
    assert not [c for c in page.context.cookies() if c["name"] == "sluice_session"]
    # as the UI asks (X-Sluice-UI): a 401 without a Basic challenge, so no browser login box
    status = page.evaluate(
        "fetch('/system/services', {headers: {'X-Sluice-UI': '1'}}).then(r => r.status)"
    )
    assert status == 401
    screenshot(page, shots, "login", docs=True)


def test_login_sets_a_strict_http_only_cookie(page: Page, sluice_server: SluiceProcess) -> None:
    login(page, sluice_server, sluice_server.password or "")
    expect(page.get_by_role("heading", name="Services")).to_be_visible()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "sluice_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it


def test_a_change_without_the_csrf_token_is_refused(page: Page) -> None:
    status = page.evaluate("fetch('/system/services/none', {method: 'DELETE'}).then(r => r.status)")
    assert status == 403


def test_broken_fdl_shows_the_line_and_field(
    page: Page, files: Path, http: httpx.Client, shots: Path
) -> None:
    before = stored(http)
    drop_fdl(page, files / "broken.yaml", files / "broken.sh")
    alert = page.locator("#fdl-result [role=alert]")
    expect(alert).to_contain_text("broken.yaml:6")
    expect(alert).to_contain_text("memory: 'lots' is not a memory quantity")
    screenshot(page, shots, "broken-fdl")
    drop_fdl(page, files / "bad.yaml")
    expect(alert).to_contain_text("bad.yaml:4:1: invalid YAML")
    drop_fdl(page, files / "tally.yaml")  # its script is not among the files
    expect(alert).to_contain_text("tally.yaml:7:7: script: script file not found")
    assert stored(http) == before


def test_upload_where_no_service_watches_warns_and_stores_nothing(
    page: Page, files: Path, http: httpx.Client
) -> None:
    before = stored(http)
    go(page, "#/storage/nobody/home")
    expect(page.get_by_text("No service watches this folder.")).to_be_visible()
    page.set_input_files("#upload-files", str(files / "stray.txt"))
    warning = page.locator("#upload-status [role=alert]")
    expect(warning).to_contain_text("No service watches nobody/home")
    expect(warning).to_contain_text("Nothing was uploaded yet.")
    page.get_by_role("button", name="Cancel").click()
    assert stored(http) == before
    refused = http.put("/ui/api/files/nobody/home/stray.txt", content=b"x")
    assert refused.status_code == 409
    assert "no service watches nobody/home" in refused.text
    assert stored(http) == before


# ---- a new user's way through: deploy, upload, watch, download --------------------------------


def test_deploy_the_copy_example_from_its_fdl(page: Page, files: Path, shots: Path) -> None:
    drop_fdl(page, EXAMPLE / "copy.yaml", EXAMPLE / "copy.sh")
    expect(page.locator("#fdl-result")).to_contain_text("Created copy")
    drop_fdl(page, files / "tally.yaml", files / "tally.sh")
    expect(page.locator("#fdl-result")).to_contain_text("Created tally")
    row = page.locator("tr[data-service=copy]")
    expect(row).to_contain_text("ready")


def test_too_large_file_is_refused_with_a_clear_message(
    page: Page, files: Path, http: httpx.Client
) -> None:
    before = stored(http)
    go(page, "#/storage/copy/in")
    expect(page.get_by_text("Files uploaded here start jobs of: copy")).to_be_visible()
    page.set_input_files("#upload-files", str(files / "big.bin"))
    alert = page.locator("#upload-status [role=alert]")
    expect(alert).to_contain_text("big.bin is 2.0 MiB; the largest file Sluice takes is 1.0 MiB")
    expect(alert).to_contain_text("Nothing was uploaded.")
    refused = http.put("/ui/api/files/copy/in/big.bin", content=(files / "big.bin").read_bytes())
    assert refused.status_code == 413
    assert stored(http) == before


def test_three_uploads_reach_succeeded_live_without_reloading(
    page: Page, context: BrowserContext, files: Path, http: httpx.Client, shots: Path
) -> None:
    go(page, "#/service/copy")
    expect(page.locator("#job-counts")).to_have_text(
        "Pending: 0 · Running: 0 · Succeeded: 0 · Failed: 0 · Dead letters: 0"
    )
    page.evaluate("window.__sameDocument = true")
    uploader = context.new_page()
    uploader.goto(page.url.split("#")[0] + "#/storage/copy/in")
    uploader.set_input_files("#upload-files", [str(files / name) for name in FILES])
    expect(uploader.locator(".progress span:last-child")).to_have_text(["done"] * 3)
    expect(uploader.locator("tr[data-file]")).to_have_count(3)  # the listing is read again
    expect(uploader.get_by_role("navigation", name="Folder")).to_have_text("Buckets/copy/in")
    screenshot(uploader, shots, "storage", docs=True)
    uploader.close()
    expect(page.locator("#jobs tr[data-status=Succeeded]")).to_have_count(3, timeout=LIVE)
    expect(page.locator("#job-counts")).to_contain_text("Succeeded: 3")
    assert page.evaluate("window.__sameDocument") is True  # the page was never reloaded
    screenshot(page, shots, "service", docs=True)


def test_the_token_shows_on_request(page: Page, http: httpx.Client) -> None:
    token = http.get("/system/services/copy").json()["token"]
    expect(page.locator("#token")).not_to_have_text(token)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#token")).to_have_text(token)
    page.get_by_role("button", name="Hide").click()
    expect(page.locator("#token")).not_to_have_text(token)


def test_a_job_log_opens(page: Page, http: httpx.Client) -> None:
    job = page.locator("#jobs tr").first.get_attribute("data-job")
    assert job
    page.locator("#jobs tr").first.get_by_role("button").click()
    expected = http.get(f"/system/logs/copy/{job}").text
    assert expected.strip()
    expect(page.locator("#log-text")).to_have_text(expected)


def test_outputs_download_as_a_zip(page: Page, shots: Path, tmp_path: Path) -> None:
    go(page, "#/storage/copy/out")
    expect(page.locator("tr[data-file]")).to_have_count(6)
    with page.expect_download() as download:
        page.locator("#zip").click()
    saved = tmp_path / "out.zip"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        contents = {name: archive.read(name).decode() for name in archive.namelist()}
    expected = {f"{n}.out": text for n, text in FILES.items()}
    expected |= {f"{n}.words": f"{len(text.split())}\n" for n, text in FILES.items()}
    assert contents == expected


def test_preview_shows_a_text_file(page: Page) -> None:
    page.locator("tr[data-file='one.txt.out']").get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-text")).to_have_text(FILES["one.txt"])


def test_workflow_shows_the_chain_with_live_counts(page: Page, shots: Path) -> None:
    go(page, "#/workflows")
    edge = page.locator("[data-edge='copy->tally']")
    expect(edge).to_contain_text("copy/out")
    expect(edge).to_contain_text("✓3", timeout=LIVE)
    screenshot(page, shots, "workflows", docs=True)


def test_status_shows_capacity_and_throughput(page: Page, http: httpx.Client, shots: Path) -> None:
    node = http.get("/system/status").json()["cluster"]["nodes"][0]
    go(page, "#/status")
    expect(page.get_by_role("heading", name="Capacity")).to_be_visible()
    cores = node["cpu"]["capacity_cores"] / 1000  # millicores, as OSCAR reports them
    expect(page.get_by_text("CPU of this machine:")).to_contain_text(f"of {cores:.2f} cores")
    expect(page.get_by_role("meter", name="CPU reserved by jobs")).to_be_visible()
    expect(
        page.get_by_role("img", name="Jobs finished per minute, last ten minutes")
    ).to_be_visible()
    counts = http.get("/system/status").json()["minio"]
    expect(page.locator("#main")).to_contain_text(
        f"{counts['buckets_count']} buckets, {counts['total_objects']} objects"
    )
    screenshot(page, shots, "status", docs=True)


def test_create_from_the_form_and_invoke_synchronously(page: Page, tmp_path: Path) -> None:
    go(page, "#/services/new")
    page.get_by_label("Name").fill("upper")
    page.get_by_label("Memory").fill("64Mi")
    page.get_by_label("CPU").fill("0.2")
    page.get_by_label("Script").fill('tr a-z A-Z < "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/up.txt"')
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Service upper")).to_be_visible()
    page.get_by_label("Input text").fill("hello sluice")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#invoke-output")).to_have_text("HELLO SLUICE")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the answer").click()
    saved = tmp_path / "answer"
    download.value.save_as(saved)
    assert saved.read_bytes() == b"HELLO SLUICE"


def test_retry_a_dead_letter_after_fixing_the_service(
    page: Page, files: Path, http: httpx.Client
) -> None:
    drop_fdl(page, files / "flaky.yaml", files / "flaky.sh")
    expect(page.locator("#fdl-result")).to_contain_text("Created flaky")
    go(page, "#/service/flaky")
    expect(page.locator("#job-counts")).to_contain_text("Dead letters: 0")
    assert http.put("/ui/api/files/flaky/in/x.txt", content=b"x y\n").status_code == 200
    row = page.locator("#jobs tr").first
    expect(row).to_contain_text("dead letter", timeout=LIVE)
    page.get_by_label("Show").select_option("dead")
    expect(page.locator("#jobs tr:not([hidden])")).to_have_count(1)
    page.get_by_role("button", name="Edit").click()
    definition = json.loads(
        page.get_by_label("Definition (JSON, as the API takes it)").input_value()
    )
    definition["script"] = 'cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/"\n'
    page.get_by_label("Definition (JSON, as the API takes it)").fill(json.dumps(definition))
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#job-counts")).to_contain_text("Dead letters: 1")
    page.get_by_label("Show").select_option("")
    page.locator("#jobs tr").first.get_by_role("button", name="Retry").click()
    expect(page.locator("#jobs tr").first).to_have_attribute(
        "data-status", "Succeeded", timeout=LIVE
    )
    expect(page.locator("#job-counts")).to_contain_text("Succeeded: 1")
    expect(page.locator("#job-counts")).to_contain_text("Dead letters: 0")
    s3 = s3_client(http)
    assert keys_under(s3, "flaky", "out/") == ["out/x.txt"]


def test_delete_a_service_after_confirming(page: Page, http: httpx.Client, shots: Path) -> None:
    go(page, "#/service/flaky")
    page.get_by_role("button", name="Delete service").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Delete flaky?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # the safe choice
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert http.get("/system/services/flaky").status_code == 200
    page.get_by_role("button", name="Delete service").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Services")).to_be_visible()
    expect(page.locator("tr[data-service=flaky]")).to_have_count(0)
    assert http.get("/system/services/flaky").status_code == 404
    expect(page.locator("tr[data-service=copy] td").nth(6)).to_have_text("3")  # Succeeded
    screenshot(page, shots, "services", docs=True)


def test_delete_the_logs_of_finished_jobs(page: Page, http: httpx.Client) -> None:
    go(page, "#/service/tally")
    expect(page.locator("#jobs tr")).to_have_count(3)
    page.get_by_role("button", name="Delete logs of finished jobs").click()
    expect(page.locator("#jobs tr")).to_have_count(0)
    assert http.get("/system/logs/tally").json()["jobs"] == {}


def test_upload_anyway_then_preview_an_image(page: Page, shots: Path, http: httpx.Client) -> None:
    picture = shots / "service.png"  # made by an earlier test of this module
    go(page, "#/storage/pictures/shots")
    expect(page.get_by_text("No service watches this folder.")).to_be_visible()
    page.set_input_files("#upload-files", str(picture))
    page.get_by_role("button", name="Upload anyway").click()
    expect(page.locator("tr[data-file='service.png']")).to_be_visible()
    stored_copy = http.get("/ui/api/files/pictures/shots/service.png")
    assert stored_copy.content == picture.read_bytes()
    page.locator("tr[data-file='service.png']").get_by_role("button", name="Preview").click()
    image = page.get_by_role("img", name="Preview of service.png")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 1280


def test_nothing_was_fetched_from_outside_this_server(requests_seen: Requests) -> None:
    assert requests_seen.urls
    assert requests_seen.foreign() == []


def test_phone_width_keeps_the_screens_usable(
    browser: Browser, sluice_server: SluiceProcess, shots: Path
) -> None:
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    login(page, sluice_server, sluice_server.password or "")
    expect(page.locator("tr[data-service=copy]")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    page.reload()  # a fresh document: Tab starts at the top
    expect(page.locator("tr[data-service=copy]")).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "New service"
    screenshot(page, shots, "phone")
    phone.close()
