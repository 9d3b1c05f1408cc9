from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sluice_process import SluiceProcess


@pytest.fixture(scope="module")
def sluice_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceProcess]:
    """One real ``sluice up`` per test module, on its own ports and data dir."""
    server = SluiceProcess(data_dir=tmp_path_factory.mktemp("sluice"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def examples_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "examples"
