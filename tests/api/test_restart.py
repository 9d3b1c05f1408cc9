"""Issue 2: state survives restarts; a generated admin password is private and printed once."""

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
from tests.e2e.helpers import keys_under, s3_client, statuses, wait_for
from tests.sluice_process import SluiceProcess, free_port


def test_services_and_tokens_survive_restart(tmp_path: Path) -> None:
    server = SluiceProcess(data_dir=tmp_path / "data").start()
    try:
        with server.client() as http:
            for name in ("keep-one", "keep-two"):
                body = {"name": name, "script": "echo", "memory": "96Mi"}
                assert http.post("/system/services", json=body).status_code == 201
            before = {s["name"]: s["token"] for s in http.get("/system/services").json()}
    finally:
        server.stop()

    server.start()
    try:
        with server.client() as http:
            after = {s["name"]: s["token"] for s in http.get("/system/services").json()}
            assert after == before
            assert http.get("/system/services/keep-one").json()["memory"] == "96Mi"
    finally:
        server.stop()
    assert server.process is not None and server.process.returncode == 0
    assert "Sluice stopped." in server.log_text()
    assert leftover_processes(server.data_dir) == []


def leftover_processes(data_dir: Path) -> list[str]:
    """Processes (the object store above all) still running from a data dir."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(data_dir) in cmdline:
            found.append(cmdline)
    return found


def test_generated_admin_password(tmp_path: Path) -> None:
    server = SluiceProcess(data_dir=tmp_path / "data", password=None).start()
    try:
        password_file = server.data_dir / "admin-password"
        password = password_file.read_text().strip()
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        assert password in server.log_text()
        ok = httpx.get(f"{server.url}/system/info", auth=("oscar", password))
        assert ok.status_code == 200
    finally:
        server.stop()
    server.start()
    try:
        assert server.log_text().count(password) == 1
        ok = httpx.get(f"{server.url}/system/info", auth=("oscar", password))
        assert ok.status_code == 200
    finally:
        server.stop()


def test_start_errors_are_clear(tmp_path: Path) -> None:
    """A busy port or an unwritable data dir stops `sluice up` with a message, not a traceback."""
    with socket.socket() as busy, socket.socket() as busy_s3:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        busy_s3.bind(("127.0.0.1", 0))
        busy_s3.listen()
        port, s3_port = busy.getsockname()[1], busy_s3.getsockname()[1]
        not_a_dir = tmp_path / "file"
        not_a_dir.write_text("")
        first = up(not_a_dir / "data", port, s3_port)
        assert first.returncode == 1
        assert f"port {port} on 127.0.0.1 is in use" in first.stderr
        assert "is not writable" in first.stderr
        second = up(tmp_path / "data", free_port(), s3_port)
        assert second.returncode == 1
        assert str(s3_port) in second.stderr
    for result in (first, second):
        assert "Traceback" not in result.stderr + result.stdout
    assert leftover_processes(tmp_path / "data") == []


def up(data_dir: Path, port: int, s3_port: int) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "sluice", "up", "--port", str(port), "--s3-port", str(s3_port)]
    env = {**os.environ, "SLUICE_DATA_DIR": str(data_dir), "SLUICE_ADMIN_PASSWORD": "x"}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_a_second_sluice_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    """The second exits naming the first, before touching its object store or events."""
    data = tmp_path / "data"
    server = SluiceProcess(data_dir=data).start()
    try:
        second = up(data, free_port(), free_port())
        assert second.returncode == 1
        assert f"another Sluice is running on data dir {data}" in second.stderr
        assert f"pid {server.process.pid if server.process else 0}" in second.stderr
        assert server.url in second.stderr
        assert "Traceback" not in second.stderr
        with server.client() as http:  # the first goes on, events included
            body = {
                "name": "still-here",
                "script": 'cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/"',
                "input": [{"storage_provider": "minio.default", "path": "still-here/in"}],
                "output": [{"storage_provider": "minio.default", "path": "still-here/out"}],
            }
            assert http.post("/system/services", json=body).status_code == 201
            job = http.post("/job/still-here", content=b"aGk=")
            assert job.status_code == 201
            s3 = s3_client(http)
            s3.put_object(Bucket="still-here", Key="in/a.txt", Body=b"a")
            wait_for(lambda: keys_under(s3, "still-here", "out/"), what="an output")
    finally:
        server.stop()
    third = SluiceProcess(data_dir=data).start()  # the lock went with the first
    third.stop()


def test_what_sluice_writes_is_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = SluiceProcess(data_dir=data, password=None).start()
    try:
        with server.client() as http:
            http.auth = ("oscar", (data / "admin-password").read_text().strip())
            body = {"name": "private", "script": "echo secret-ish output"}
            assert http.post("/system/services", json=body).status_code == 201
            assert http.post("/job/private", content=b"aGk=").status_code == 201
            wait_for(lambda: "Succeeded" in statuses(http, "private"), what="the job")
    finally:
        server.stop()
    # Others may pass through (not list) the folders where sandboxed jobs' folders are.
    passable = {data, data / "jobs", data / "runs", data / "workers", data / "volumes"}
    assert stat.S_IMODE(data.stat().st_mode) == 0o711
    for path in [data / "sluice.db", data / "admin-password", data / "secret.key"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in [p for p in data.rglob("*") if p.is_dir() and not p.is_symlink()]:
        expected = 0o711 if folder in passable else 0o700
        assert stat.S_IMODE(folder.stat().st_mode) == expected, folder
    # SeaweedFS sets some of its own files' modes; its folders (0700, above) keep them private.
    written = [p for p in data.rglob("*") if p.is_file() and "seaweedfs" not in p.parts]
    for path in [p for p in written if p.name != "sluice-up.log"]:  # the test's own log
        assert not stat.S_IMODE(path.stat().st_mode) & 0o077, path  # nothing for others


def test_a_damaged_database_is_refused_with_a_pointer_to_the_repair(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = SluiceProcess(data_dir=data).start()
    try:
        with server.client() as http:
            for index in range(30):  # enough rows for several pages of table data
                body = {"name": f"svc-{index}", "script": "echo " + "x" * 2000}
                assert http.post("/system/services", json=body).status_code == 201
    finally:
        server.stop()
    database = data / "sluice.db"
    original = database.read_bytes()
    page = 4096
    damaged = bytearray(original)
    damaged[3 * page : 6 * page] = os.urandom(3 * page)  # table pages, not the header
    database.write_bytes(bytes(damaged))
    refused = up(data, free_port(), free_port())
    assert refused.returncode == 1
    assert f"error: the state database {database} is damaged" in refused.stderr
    assert "docs/operations.md" in refused.stderr
    assert "Traceback" not in refused.stderr

    database.write_bytes(b"\0" * len(original))  # a zeroed header: not a database at all
    unreadable = up(data, free_port(), free_port())
    assert unreadable.returncode == 1
    assert f"error: the state database {database} is damaged (file is not a database)" in (
        unreadable.stderr
    )
    assert "Traceback" not in unreadable.stderr
    assert leftover_processes(data) == []
