"""Issue 2: state survives restarts; a generated admin password is private and printed once."""

import stat
from pathlib import Path

import httpx
import psutil
from tests.sluice_process import SluiceProcess


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
