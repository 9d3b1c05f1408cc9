"""A podman API service that Sluice starts for itself when no engine is named: ``podman system
service`` on a socket in the data dir, stopped by its own pid when Sluice stops."""

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx

from sluice.errors import BackendError

START_TIMEOUT = 20.0


def podman_binary() -> str | None:
    return shutil.which("podman")


class ManagedPodman:
    def __init__(self, socket: Path, log_path: Path) -> None:
        self.socket = socket
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        binary = podman_binary()
        if binary is None:
            raise BackendError(
                "the container runtime needs a Docker-compatible engine: install podman, "
                "or name a running engine with SLUICE_CONTAINER_HOST (or DOCKER_HOST)"
            )
        self.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        argv = [binary, "system", "service", "--time=0", self.base_url]
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._process is not None
        transport = httpx.HTTPTransport(uds=str(self.socket))
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(transport=transport, base_url="http://podman", timeout=2) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise BackendError(f"podman system service exited: {self._tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if self.socket.exists() and client.get("/_ping").status_code == 200:
                        return
                time.sleep(0.05)
        self.stop()
        raise BackendError(f"podman system service did not answer within {START_TIMEOUT:g} s")

    def _tail(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-2000:].strip()
        except OSError:
            return ""

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.socket.unlink(missing_ok=True)
