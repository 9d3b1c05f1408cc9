from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from oscar_python.client import Client

from tests.postgres import PostgresCluster, postgres_cluster
from tests.sluice_process import SluiceProcess, running_sluice


@pytest.fixture(scope="module")
def sluice_env() -> dict[str, str]:
    """Extra ``SLUICE_*`` settings for this module's server; a module overrides it."""
    return {}


@pytest.fixture(scope="module")
def sluice_server(
    tmp_path_factory: pytest.TempPathFactory, sluice_env: dict[str, str]
) -> Iterator[SluiceProcess]:
    """One real ``sluice up`` per test module, on its own ports and data dir."""
    with running_sluice(tmp_path_factory.mktemp("sluice"), sluice_env) as server:
        yield server


@pytest.fixture(scope="module")
def http(sluice_server: SluiceProcess) -> Iterator[httpx.Client]:
    """An API client with the admin's credentials."""
    with sluice_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def oscar(sluice_server: SluiceProcess) -> Client:
    """The official oscar-python client, pointed at this module's server as its admin."""
    return Client(
        {
            "cluster_id": "sluice",
            "endpoint": sluice_server.url,
            "user": sluice_server.user,
            "password": sluice_server.password,
            "ssl": False,
        }
    )


@pytest.fixture
def examples_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One throw-away PostgreSQL for the session, started the first time a test asks for it."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The state database of a test: None (SQLite in the data dir, the default) unless the
    module runs over ``tests.postgres.both_databases``; then a fresh PostgreSQL database too."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield None
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    with cluster.database() as url:
        yield url
