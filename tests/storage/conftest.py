"""Real servers for the storage tests: one SeaweedFS and one WsgiDAV per test module."""

from collections.abc import Iterator

import pytest

from sluice.storage.embedded import EmbeddedSeaweedFS
from tests.servers import DavServer, dav_server, seaweedfs


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSeaweedFS]:
    with seaweedfs(tmp_path_factory.mktemp("seaweed")) as store:
        yield store


@pytest.fixture(name="dav_server", scope="module")
def dav_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DavServer]:
    with dav_server(tmp_path_factory.mktemp("dav-root")) as server:
        yield server
