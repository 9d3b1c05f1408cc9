"""Shared pieces of the benchmarks: a real ``sluice up``, timing helpers, the faces example."""

import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "examples" / "faces"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(FACES))

from tests.sluice_process import SluiceProcess  # noqa: E402
from tests.sluice_process import running_sluice as start_sluice  # noqa: E402


@contextmanager
def running_sluice(env: dict[str, str] | None = None) -> Iterator[SluiceProcess]:
    """A ``sluice up`` on a throw-away data dir."""
    with tempfile.TemporaryDirectory() as tmp, start_sluice(Path(tmp) / "data", env) as server:
        yield server


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary_ms(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": 1000 * statistics.median(samples),
        "p99_ms": 1000 * percentile(samples, 0.99),
    }


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples
