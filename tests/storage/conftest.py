"""Real servers for the storage tests: one SeaweedFS and one WsgiDAV per test module."""

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cheroot import wsgi
from wsgidav.wsgidav_app import WsgiDAVApp  # type: ignore[import-untyped]

from sluice.storage.embedded import EmbeddedSeaweedFS

DAV_USER = "dav-user"
DAV_PASSWORD = "dav-secret-pw"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class DavServer:
    url: str
    root: Path
    login: str
    password: str


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSeaweedFS]:
    """A real ``weed mini`` on 127.0.0.1 and a free port, stopped by its own pid afterwards."""
    store = EmbeddedSeaweedFS(tmp_path_factory.mktemp("seaweed"), s3_port=free_port())
    store.start()
    yield store
    store.stop()


@pytest.fixture(scope="module")
def dav_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DavServer]:
    """A real WsgiDAV server (cheroot, in a thread) with basic auth over a tmp folder."""
    root = tmp_path_factory.mktemp("dav-root")
    app = WsgiDAVApp(
        {
            "host": "127.0.0.1",
            "port": 0,
            "provider_mapping": {"/": str(root)},
            "simple_dc": {"user_mapping": {"*": {DAV_USER: {"password": DAV_PASSWORD}}}},
            "http_authenticator": {
                "accept_basic": True,
                "accept_digest": False,
                "default_to_digest": False,
            },
            "dir_browser": {"enable": False},
            "logging": {"enable": False},
            "verbose": 1,
        }
    )
    server = wsgi.Server(("127.0.0.1", 0), app, numthreads=4)
    server.prepare()
    port = server.bind_addr[1]
    thread = threading.Thread(target=server.serve, name="wsgidav", daemon=True)
    thread.start()
    yield DavServer(f"http://127.0.0.1:{port}", root, DAV_USER, DAV_PASSWORD)
    server.stop()
    thread.join(timeout=5)
