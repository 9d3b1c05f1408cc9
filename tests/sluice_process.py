"""Start a real ``sluice up`` in a subprocess for end-to-end tests (loopback only, own ports)."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ADMIN_USER = "oscar"
ADMIN_PASSWORD = "test-admin-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# What sluice up says when a port it was given is taken (its own check, or weed's).
PORT_TAKEN = ("is in use", "is already in use", "is not available")
TEST_TEMP = ".pytest-tmp"  # pytest's --basetemp (pyproject.toml): this checkout's own


def open_test_folders(path: Path) -> None:
    """pytest makes its temporary folders private (0700); Sluice's sandboxed jobs run as an
    unprivileged user, which must be able to pass through (not list) the folders above a data
    dir or read a handler's code, as it could under /var/lib or /opt."""
    resolved = path.resolve()
    inside = [f for f in [resolved, *resolved.parents] if TEST_TEMP in f.parts]
    for folder in inside:
        if folder.exists():
            folder.chmod(folder.stat().st_mode | 0o711)


def readable_by_jobs(folder: Path) -> Path:
    """A test folder of code or data that sandboxed jobs may read."""
    open_test_folders(folder)
    folder.chmod(0o755)
    return folder


@dataclass
class SluiceProcess:
    data_dir: Path
    port: int = field(default_factory=free_port)
    s3_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    password: str | None = ADMIN_PASSWORD
    process: subprocess.Popen[bytes] | None = None
    user: str = ADMIN_USER

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "sluice-up.log"

    def start(self, timeout: float = 60) -> "SluiceProcess":
        """Start and wait until healthy. The ports were free when picked, but another process
        may take one before Sluice binds it: a first start then tries again on new ones (a
        restart keeps its ports, as the tests of restarts expect)."""
        first = self.process is None
        for attempt in range(3):
            logged = self.log_path.stat().st_size if self.log_path.exists() else 0
            try:
                return self._start(timeout)
            except RuntimeError:
                taken = any(sign in self.log_text(since=logged) for sign in PORT_TAKEN)
                if not (first and taken) or attempt == 2:
                    raise
            self.port, self.s3_port = free_port(), free_port()
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> "SluiceProcess":
        env = {**os.environ, **self.env, "SLUICE_DATA_DIR": str(self.data_dir)}
        env.pop("SLUICE_ADMIN_PASSWORD", None)
        if self.password:
            env["SLUICE_ADMIN_PASSWORD"] = self.password
        argv = [sys.executable, "-m", "sluice", "up", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--s3-port", str(self.s3_port)]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        open_test_folders(self.data_dir)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sluice up exited early:\n{self.log_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sluice up did not become healthy:\n{self.log_text()}")

    def log_text(self, since: int = 0) -> str:
        """The end of the manager's log (of what it wrote after byte ``since``)."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace")[-5000:]

    def stop(self, timeout: float = 20) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Crash the manager (SIGKILL), leaving its object store behind as a real crash would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(self.user, self.password or ""), timeout=30)


@contextmanager
def running_sluice(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[SluiceProcess]:
    """A started ``sluice up``, stopped by its own process id when the block ends."""
    server = SluiceProcess(data_dir=data_dir, env=env or {}).start()
    try:
        yield server
    finally:
        server.stop()
