"""What handler code imports from Sluice: cheap, and nothing beyond the standard library."""

import subprocess
import sys

from sluice.workers.handler_api import BATCH_ATTRIBUTE, batch, is_batch
from sluice.workers.worker_main import BATCH_ATTRIBUTE as WORKER_BATCH_ATTRIBUTE


def test_batch_marks_the_function_and_returns_it() -> None:
    def handler(inputs: list[str], output_dirs: list[str]) -> None:
        return None

    assert not is_batch(handler)
    assert batch(handler) is handler
    assert is_batch(handler)


def test_the_worker_reads_the_same_mark() -> None:
    assert BATCH_ATTRIBUTE == WORKER_BATCH_ATTRIBUTE == "__sluice_batch__"


def test_importing_it_loads_no_other_sluice_module() -> None:
    code = (
        "import sys, sluice.workers.handler_api\n"
        "print(sorted(m for m in sys.modules if m.startswith('sluice')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    assert output.stdout.strip() == "['sluice', 'sluice.workers', 'sluice.workers.handler_api']"
