"""The object store ``sluice up`` runs for itself: one ``weed mini`` process on loopback.

Layout under ``<data_dir>/seaweedfs``: ``data/`` (volumes and filer metadata),
``logs/`` (glog files and ``weed.out``), ``run/`` (unix sockets), ``tmp/``,
``credentials.json`` (0600), ``weed.pid`` and ``notification.toml`` (weed reads it from its
working directory). Only the S3 port is fixed; every other port weed opens is picked free
at each start, so several instances can run side by side.
"""

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psutil
from botocore.exceptions import BotoCoreError, ClientError

from sluice.errors import StorageError
from sluice.net import port_in_use
from sluice.storage import weed_process as wp
from sluice.storage.credentials import (
    S3Credentials,
    load_or_create_credentials,
    write_private_file,
)
from sluice.storage.s3 import build_s3_client

# Ports weed would otherwise open at fixed defaults (9333, 19333, 8888, 23646, ...).
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)
_STALE_GRACE_S = 5.0
_STOP_GRACE_S = 10.0
_START_ATTEMPTS = 2  # a second try with fresh ports if one was taken in the meantime


class _ExitedEarly(StorageError):
    pass


class EmbeddedSeaweedFS:
    """Start, watch and stop a private SeaweedFS that serves S3 on ``host:s3_port``."""

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        s3_port: int = 8333,
        webhook_url: str | None = None,
        webhook_token: str | None = None,
        weed_binary: Path | None = None,
        allowed_origins: Sequence[str] = (),
        memory_limit: str = "384MiB",
    ) -> None:
        """``memory_limit``: the store's soft heap limit (Go's ``GOMEMLIMIT`` syntax)."""
        self._root = data_dir.resolve() / "seaweedfs"
        self._memory_limit = memory_limit
        self._host = host
        self._s3_port = s3_port
        self._webhook_url = webhook_url
        self._webhook_token = webhook_token
        self._weed_binary = weed_binary
        # Browser origins that may call S3 cross-origin (the same ones as the API); none by default.
        self._allowed_origins = ",".join(allowed_origins)
        self._proc: subprocess.Popen[bytes] | None = None
        self._cmdline: list[str] = []
        self._credentials: S3Credentials | None = None
        self._lock = threading.RLock()

    @property
    def endpoint(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._s3_port}"

    @property
    def credentials(self) -> S3Credentials:
        if self._credentials is None:
            self._credentials = load_or_create_credentials(self._root / "credentials.json")
        return self._credentials

    @property
    def data_path(self) -> Path:
        return self._root / "data"

    @property
    def log_path(self) -> Path:
        return self._root / "logs" / "weed.out"

    @property
    def pid_path(self) -> Path:
        return self._root / "weed.pid"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.is_running() and self._proc else None

    def start(self, timeout: float = 30.0) -> None:
        """Start weed (replacing a stale one on this data dir) and wait until S3 answers."""
        with self._lock:
            if self.is_running():
                return
            binary = wp.find_weed_binary(self._weed_binary)
            try:
                self._prepare()
            except OSError as exc:
                raise StorageError(f"cannot prepare {self._root} for SeaweedFS: {exc}") from exc
            for attempt in range(1, _START_ATTEMPTS + 1):
                try:
                    self._launch(binary)
                    self._wait_ready(timeout)
                    return
                except _ExitedEarly:
                    self._reap()
                    if attempt == _START_ATTEMPTS:
                        raise
                except BaseException:
                    self.stop()
                    raise

    def stop(self) -> None:
        """Stop weed: SIGTERM, up to 10 s to finish, then SIGKILL. Also stops a stale one."""
        with self._lock:
            self._stop_all(_STOP_GRACE_S)

    def is_running(self) -> bool:
        with self._lock:
            return self._proc is not None and self._proc.poll() is None

    def ensure_running(self, timeout: float = 30.0) -> bool:
        """Restart weed if it died; True when it had to be restarted."""
        with self._lock:
            if self.is_running():
                return False
            self.start(timeout)
            return True

    def _prepare(self) -> None:
        for sub in ("data", "logs", "run", "tmp"):
            (self._root / sub).mkdir(parents=True, exist_ok=True)
        self._stop_all(_STALE_GRACE_S)
        if port_in_use(self._host, self._s3_port):
            raise StorageError(
                f"cannot start the embedded object store: port {self._s3_port} on {self._host} "
                "is already in use by another program; free it or choose another S3 port"
            )
        self._forget_previous_ports()
        self._write_notification_config()

    def _stop_all(self, grace_s: float) -> None:
        # Our own child is among them too: its command line names this data dir.
        procs = wp.weed_processes(self.data_path, wp.read_pid(self.pid_path))
        cmdlines = [wp.command_line(proc) for proc in procs]
        wp.terminate(procs, grace_s)
        self._reap()
        for cmdline in cmdlines:
            wp.remove_grpc_sockets(cmdline)
        self.pid_path.unlink(missing_ok=True)

    def _forget_previous_ports(self) -> None:
        # weed saves its flags to data/mini.options and reloads any flag not given on the
        # command line, and keeps master state in data/m<master port>; both would tie a
        # restart to the previous run's ports. Volumes and filer metadata are elsewhere,
        # and the master relearns its state from the volume server's heartbeat.
        (self.data_path / "mini.options").unlink(missing_ok=True)
        for entry in self.data_path.glob("m[0-9]*"):
            if entry.is_dir() and entry.name[1:].isdigit():
                shutil.rmtree(entry, ignore_errors=True)

    def _write_notification_config(self) -> None:
        path = self._root / "notification.toml"
        if self._webhook_url is None:
            # An empty file still shadows any ~/.seaweedfs or /etc/seaweedfs configuration.
            write_private_file(path, "# webhook notifications disabled by sluice\n")
            return
        write_private_file(
            path,
            "[notification.webhook]\n"
            "enabled = true\n"
            f"endpoint = {json.dumps(self._webhook_url)}\n"
            f"bearer_token = {json.dumps(self._webhook_token or '')}\n"
            'event_types = ["create", "update", "delete", "rename"]\n'
            'path_prefixes = ["/buckets"]\n'
            # A manager that is busy, stopped or restarting gets the event again later.
            "timeout_seconds = 30\n"
            "max_retries = 10\n"
            "backoff_seconds = 1\n"
            "max_backoff_seconds = 30\n"
            # Several at once: uploads arrive faster than one sender delivers their events.
            "workers = 16\n",
        )

    def _launch(self, binary: Path) -> None:
        self._cmdline = self._command(binary)
        try:
            _rotate(self.log_path)
            with self.log_path.open("ab") as log:
                self._proc = subprocess.Popen(
                    self._cmdline,
                    cwd=self._root,
                    env=self._environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.pid_path.write_text(f"{self._proc.pid}\n")
        except OSError as exc:
            raise StorageError(f"cannot run the SeaweedFS binary {binary}: {exc}") from exc

    def _environment(self) -> dict[str, str]:
        # weed mini creates its admin identity from the AWS_* variables, and would create
        # buckets or advertise URLs named by the S3_* ones.
        env = {key: value for key, value in os.environ.items() if not key.startswith("S3_")}
        env.update(
            AWS_ACCESS_KEY_ID=self.credentials.access_key,
            AWS_SECRET_ACCESS_KEY=self.credentials.secret_key,
            TMPDIR=str(self._root / "tmp"),
        )
        # Go's collector keeps the heap near this (soft) limit, instead of holding on to the
        # peak of a large upload (840 MiB after one of 200 MB without it): an edge device
        # cannot spare that. Too close to what the store uses under load and it collects
        # without rest: at 256MiB it spent 200 ms of CPU per second for a while after a burst
        # of small files, and 5.7 ms per file instead of 2.9. GOGC=25 collects sooner, so that
        # the limit is seldom reached: after 500 small files the store holds 165 MiB, not 203
        # with GOGC=50, for no measurable CPU (bench/memory.py, bench/async_files.py).
        env.setdefault("GOMEMLIMIT", self._memory_limit)
        env.setdefault("GOGC", "25")
        return env

    def _command(self, binary: Path) -> list[str]:
        ports = wp.free_ports(self._host, len(_PORT_FLAGS), exclude={self._s3_port})
        return [
            str(binary),
            f"-logdir={self._root / 'logs'}",
            "mini",
            f"-dir={self.data_path}",
            f"-ip={self._host}",
            f"-ip.bind={self._host}",
            f"-s3.port={self._s3_port}",
            f"-s3.allowedOrigins={self._allowed_origins}",
            *(f"-{flag}={port}" for flag, port in zip(_PORT_FLAGS, ports, strict=True)),
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            "-volume.preStopSeconds=0",
            # Relative to the working directory, so long data paths never hit the 108-byte limit.
            "-s3.localSocket=run/s3.sock",
            "-filer.localSocket=run/filer.sock",
        ]

    def _wait_ready(self, timeout: float) -> None:
        credentials = self.credentials
        client = build_s3_client(
            self.endpoint,
            credentials.access_key,
            credentials.secret_key,
            connect_timeout=1.0,
            read_timeout=3.0,
            max_attempts=1,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is None or self._proc.poll() is not None:
                raise _ExitedEarly(self._failure("exited while starting"))
            try:
                client.list_buckets()
                return
            except (BotoCoreError, ClientError):
                if time.monotonic() > deadline:
                    message = self._failure(f"did not answer S3 within {timeout:g} s")
                    raise StorageError(message) from None
                time.sleep(0.1)

    def _failure(self, what: str) -> str:
        return (
            f"the embedded object store (weed mini, S3 {self.endpoint}) {what}; "
            f"last lines of {self.log_path}:\n{wp.log_tail(self.log_path)}"
        )

    def _reap(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                wp.terminate([psutil.Process(self._proc.pid)], _STOP_GRACE_S)
            self._proc.wait()
            self._proc = None
        if self._cmdline:
            wp.remove_grpc_sockets(self._cmdline)
            self._cmdline = []


def _rotate(log: Path) -> None:
    if log.exists() and log.stat().st_size > 0:
        log.replace(log.with_name(log.name + ".1"))
