"""Background loops that never die: an exception is logged, counted and retried after a growing
backoff, and each loop's state can be reported (``/health?detail=1``, ``/system/status``)."""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

BACKOFF = (0.5, 30.0)  # seconds after the first failure, and at most


@dataclass
class LoopHealth:
    name: str
    running: bool = False
    failures: int = 0  # in a row; 0 while healthy
    restarts: int = 0  # failures in all
    last_error: str = ""
    last_ok: float = 0.0  # time.time() of the last step that went well

    def report(self) -> dict[str, object]:
        state = "failing" if self.failures else ("running" if self.running else "stopped")
        return {
            "state": state,
            "failures_in_a_row": self.failures,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "last_ok": self.last_ok,
        }


class Supervised:
    """Runs ``step`` until stopped. ``step`` returns the seconds to wait before the next run;
    ``wake`` (when given) cuts a wait short."""

    def __init__(
        self,
        name: str,
        step: Callable[[], float],
        *,
        wake: threading.Event | None = None,
    ) -> None:
        self.health = LoopHealth(name)
        self._step = step
        self._wake = wake or threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.health.running = True
        self._thread = threading.Thread(target=self._loop, name=self.health.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.health.running = False

    def wake(self) -> None:
        """Run the next step now."""
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                wait = self._step()
            except Exception as exc:
                wait = self._failed(exc)
            else:
                self.health.failures = 0
                self.health.last_ok = time.time()
            if not self._stop.is_set():
                self._wake.wait(wait)

    def _failed(self, exc: Exception) -> float:
        health = self.health
        health.failures += 1
        health.restarts += 1
        health.last_error = f"{type(exc).__name__}: {exc}"[:500]
        wait = min(BACKOFF[0] * 2.0 ** (health.failures - 1), BACKOFF[1])
        log.exception(
            "%s failed (%d in a row); again in %.1f s", health.name, health.failures, wait
        )
        return wait


class Loops:
    """Every supervised loop of a running Sluice, for health reports."""

    def __init__(self) -> None:
        self._loops: list[Supervised] = []

    def add(self, loop: Supervised) -> Supervised:
        self._loops.append(loop)
        return loop

    def report(self) -> dict[str, dict[str, object]]:
        return {loop.health.name: loop.health.report() for loop in self._loops}

    def healthy(self) -> bool:
        return all(loop.health.failures == 0 for loop in self._loops)
