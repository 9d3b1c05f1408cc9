"""One running Sluice per data dir: a lock held for the process's lifetime. The kernel drops it
when the process dies, however it dies, so a crash never leaves a stale lock behind."""

import contextlib
import fcntl
import os
from pathlib import Path

from sluice.errors import Conflict

LOCK_FILE = "sluice.lock"


class InstanceLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, host: str, port: int) -> None:
        """Take the lock, or raise Conflict naming the instance that holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            os.close(fd)
            raise Conflict(
                f"another Sluice is running on data dir {self.path.parent} ({holder or 'pid ?'}); "
                "stop it first, or give this one its own --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, http://{host}:{port}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)
