"""Is the data disk full? Asked often, so the answer is kept for a moment."""

import shutil
import threading
import time
from pathlib import Path

from sluice.domain.quantity import format_memory

CACHE_SECONDS = 1.0


class DiskGuard:
    def __init__(self, path: Path, min_free: int) -> None:
        self._path = path
        self._min_free = min_free
        self._free = -1
        self._checked = 0.0
        self._lock = threading.Lock()

    def free(self) -> int:
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= CACHE_SECONDS:
                try:
                    self._free = shutil.disk_usage(self._path).free
                except OSError:
                    self._free = 0
                self._checked = now
            return self._free

    def full(self) -> bool:
        return self.free() < self._min_free

    def describe(self) -> str:
        """For people, when full: what is free and what is needed."""
        return (
            f"the data disk ({self._path}) is full: {format_memory(self.free())} free, "
            f"{format_memory(self._min_free)} needed (SLUICE_MIN_FREE_DISK); jobs wait"
        )

    def pause(self) -> str:
        """Why jobs wait, while the disk is full; "" otherwise (a dispatcher ``Pause``)."""
        return self.describe() if self.full() else ""
