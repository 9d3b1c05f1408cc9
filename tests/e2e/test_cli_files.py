"""The CLI's file, log, job and run commands against a real ``sluice up`` and its SeaweedFS."""

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.helpers import all_jobs, keys_under, s3_client, statuses, wait_for
from tests.sluice_process import SluiceProcess
from typer.testing import CliRunner, Result

from sluice.cli.main import app

pytestmark = pytest.mark.slow

Sluice = Callable[..., Result]

COPY = '#!/bin/sh\ncp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/"\n'
UPPER = 'tr a-z A-Z < "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/result.txt"'
BIG = 12 * 1024 * 1024
SERVICES: list[dict[str, Any]] = [
    {
        "name": "cli-files",
        "script": COPY,
        "input": [{"path": "cli-files/in"}],
        "output": [{"path": "cli-files/out"}],
    },
    {"name": "cli-fail", "script": "exit 4", "max_attempts": 1, "input": [{"path": "cli-fail/in"}]},
    {"name": "cli-run", "script": UPPER},
]


@pytest.fixture(scope="module")
def http(sluice_server: SluiceProcess) -> Iterator[httpx.Client]:
    with sluice_server.client() as client:
        for service in SERVICES:
            created = client.post("/system/services", json={"memory": "64Mi", **service})
            assert created.status_code == 201, created.text
        yield client


@pytest.fixture(scope="module")
def s3(http: httpx.Client) -> Any:
    return s3_client(http)


@pytest.fixture(scope="module")
def sluice(
    sluice_server: SluiceProcess, http: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> Sluice:
    config = tmp_path_factory.mktemp("cli") / "config.yaml"

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, ["--config", str(config), *args])

    password = sluice_server.password or ""
    ok(run("cluster", "add", "local", sluice_server.url, sluice_server.user, password))
    return run


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def fails(result: Result, message: str) -> str:
    """The one ``error: …`` line of a failed command, which must start with ``message``."""
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {message}"), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output
    return result.stderr


def test_put_list_get_and_delete_files(
    sluice: Sluice, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = tmp_path / "small.txt"
    small.write_text("a small file\n")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(BIG))

    # oscar-cli's positional provider, and a folder REMOTE that gets the file's name.
    put = ok(
        sluice("service", "put-file", "cli-files", "minio.default", str(small), "cli-files/in/")
    )
    assert put.stdout == f"uploaded {small} to cli-files/in/small.txt\n"
    # REMOTE defaults to the first input folder; 12 MiB goes up in parts.
    ok(sluice("service", "put-file", "cli-files", str(big), "--no-progress"))
    assert "-" in s3.head_object(Bucket="cli-files", Key="in/big.bin")["ETag"]

    wanted = {"out/big.bin", "out/small.txt"}
    wait_for(lambda: wanted <= set(keys_under(s3, "cli-files", "out/")), what="both outputs")

    listed = json.loads(ok(sluice("service", "list-files", "cli-files", "-o", "json")).stdout)
    sizes = {item["key"]: item["size"] for item in listed}
    assert sizes["out/big.bin"] == BIG
    assert sizes["out/small.txt"] == small.stat().st_size
    assert all(item["bucket"] == "cli-files" for item in listed)
    table = ok(sluice("service", "list-files", "cli-files", "cli-files/out")).stdout.splitlines()
    assert table[0].split() == ["KEY", "SIZE", "LAST", "MODIFIED"]
    assert ["out/big.bin", str(BIG)] in [row.split()[:2] for row in table[1:]]

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    ok(sluice("service", "get-file", "cli-files", "cli-files/out/big.bin", str(downloads)))
    assert (downloads / "big.bin").read_bytes() == big.read_bytes()
    copy = tmp_path / "copy.txt"
    got = ok(sluice("service", "get-file", "cli-files", "cli-files/out/small.txt", str(copy)))
    assert got.stdout == f"downloaded cli-files/out/small.txt to {copy}\n"
    assert copy.read_text() == "a small file\n"

    # --latest into the current folder: the newest output (S3 times may tie to the second).
    newest = max(item["last_modified"] for item in listed)
    names = {item["key"].rsplit("/", 1)[-1] for item in listed if item["last_modified"] == newest}
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    ok(sluice("service", "get-file", "cli-files", "--latest"))
    [fetched] = list(here.iterdir())
    assert fetched.name in names

    removed = ok(sluice("service", "delete-file", "cli-files", "cli-files/out/small.txt"))
    assert removed.stdout == "deleted cli-files/out/small.txt\n"
    assert "out/small.txt" not in keys_under(s3, "cli-files", "out/")
    again = sluice("service", "delete-file", "cli-files", "cli-files/out/small.txt")
    fails(again, "cli-files/out/small.txt: no such object")


def test_job_then_logs_list_get_and_remove(sluice: Sluice, http: httpx.Client) -> None:
    job = ok(sluice("service", "job", "cli-files", "--text-input", "hello job")).stdout.strip()
    assert job
    wait_for(
        lambda: all_jobs(http, "cli-files").get(job, {}).get("status") == "Succeeded",
        what="the job to succeed",
    )
    wait_for(lambda: set(statuses(http, "cli-files")) == {"Succeeded"}, what="every job to finish")

    listed = json.loads(ok(sluice("service", "logs", "list", "cli-files", "-o", "json")).stdout)
    assert job in [row["name"] for row in listed]
    assert {row["status"] for row in listed} == {"Succeeded"}
    table = ok(sluice("service", "logs", "list", "cli-files", "--status", "Succeeded,Failed"))
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "CREATED", "STARTED", "FINISHED"]
    assert [job, "Succeeded"] in [line.split()[:2] for line in lines[1:]]
    failed_only = ok(sluice("service", "logs", "list", "cli-files", "-s", "failed"))
    assert job not in failed_only.stdout

    log = ok(sluice("service", "logs", "get", "cli-files", job)).stdout
    expected = http.get(f"/system/logs/cli-files/{job}").text
    assert log.rstrip("\n") == expected.rstrip("\n")
    assert log.strip()
    ok(sluice("service", "logs", "get", "cli-files", "--latest"))

    assert ok(sluice("service", "logs", "remove", "cli-files", job)).stdout == (
        f"removed job '{job}'\n"
    )
    assert job not in all_jobs(http, "cli-files")
    ok(sluice("service", "logs", "remove", "cli-files", "--succeeded"))
    assert json.loads(ok(sluice("service", "logs", "list", "cli-files", "-o", "json")).stdout) == []
    fails(sluice("service", "logs", "remove", "cli-files"), "give JOB..., --succeeded or --all")


def test_dead_letter_is_listed_and_retried(sluice: Sluice, tmp_path: Path) -> None:
    trigger = tmp_path / "go.txt"
    trigger.write_text("go")
    ok(sluice("service", "put-file", "cli-fail", str(trigger)))

    def dead() -> list[dict[str, Any]]:
        listed = ok(sluice("jobs", "list", "cli-fail", "--dead", "-o", "json")).stdout
        return [job for job in json.loads(listed) if job["finish_time"]]

    [letter] = wait_for(dead, what="a dead letter")
    assert (letter["status"], letter["exit_code"], letter["attempts"]) == ("Failed", 4, 1)
    assert letter["dead_letter"] is True
    assert letter["input"].endswith("cli-fail/in/go.txt")
    table = ok(sluice("jobs", "list", "cli-fail", "--dead")).stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "ATTEMPTS", "EXIT", "REASON", "INPUT"]
    assert table[1].split()[:4] == [letter["name"], "Failed", "1/1", "4"]

    retried = ok(sluice("jobs", "retry", "cli-fail", letter["name"]))
    assert retried.stdout.startswith(f"retrying job '{letter['name']}' of service 'cli-fail'")
    rerun = wait_for(
        lambda: [job for job in dead() if job["finish_time"] != letter["finish_time"]],
        what="the retried job to fail again",
    )
    assert rerun[0]["name"] == letter["name"]
    fails(sluice("jobs", "retry", "cli-fail", "no-such-job"), "POST /system/jobs/cli-fail/")


def test_run_returns_the_output(sluice: Sluice, tmp_path: Path) -> None:
    assert ok(sluice("service", "run", "cli-run", "--text-input", "hello")).stdout == "HELLO"
    source = tmp_path / "in.txt"
    source.write_text("from a file\n")
    target = tmp_path / "out.txt"
    ok(sluice("service", "run", "cli-run", "--input", str(source), "--output", str(target)))
    assert target.read_bytes() == b"FROM A FILE\n"


def test_errors_are_one_line(sluice: Sluice, tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    fails(sluice("service", "put-file", "cli-files", str(missing)), f"{missing}: no such file")
    fails(
        sluice("service", "get-file", "cli-files", "cli-files/out/nope.txt", str(tmp_path)),
        "cli-files/out/nope.txt: no such object",
    )
    assert not (tmp_path / "nope.txt").exists()
    present = tmp_path / "present.txt"
    present.write_text("x")
    fails(
        sluice("service", "put-file", "no-such-service", str(present)),
        "GET /system/services/no-such-service: 404",
    )
    fails(sluice("service", "list-files", "no-such-service"), "GET /system/services/")
    unsupported = sluice("service", "put-file", "cli-files", str(present), "--provider", "s3.aws")
    assert "minio.default" in fails(unsupported, "storage provider 's3.aws' is not supported")
    fails(sluice("service", "job", "cli-files"), "give --input FILE or --text-input TEXT")
    fails(sluice("jobs", "list", "no-such-service"), "GET /system/jobs/no-such-service")
