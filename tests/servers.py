"""Real servers tests run beside Sluice: a WebDAV server (WsgiDAV) and a standalone SeaweedFS."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cheroot import wsgi
from wsgidav.wsgidav_app import WsgiDAVApp  # type: ignore[import-untyped]

from sluice.storage.embedded import EmbeddedSeaweedFS
from tests.sluice_process import free_port

DAV_USER = "dav-user"
DAV_PASSWORD = "dav-secret-pw"


@dataclass(frozen=True)
class DavServer:
    url: str
    root: Path
    login: str
    password: str


@contextmanager
def dav_server(root: Path, host: str = "127.0.0.1") -> Iterator[DavServer]:
    """A real WsgiDAV server (cheroot, in a thread) with basic auth over ``root``, on
    ``host`` (loopback, or an address the test set up)."""
    app = WsgiDAVApp(
        {
            "host": host,
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
    server = wsgi.Server((host, 0), app, numthreads=4)
    server.prepare()
    port = server.bind_addr[1]
    thread = threading.Thread(target=server.serve, name="wsgidav", daemon=True)
    thread.start()
    try:
        yield DavServer(f"http://{host}:{port}", root, DAV_USER, DAV_PASSWORD)
    finally:
        server.stop()
        thread.join(timeout=5)


@contextmanager
def seaweedfs(data_dir: Path) -> Iterator[EmbeddedSeaweedFS]:
    """A real ``weed mini`` on 127.0.0.1 and a free port, stopped by its own pid afterwards."""
    store = EmbeddedSeaweedFS(data_dir, s3_port=free_port())
    store.start()
    try:
        yield store
    finally:
        store.stop()
