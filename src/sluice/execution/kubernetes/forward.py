"""The embedded object store as pods see it: a TCP forwarder from the job S3 endpoint's
address (``SLUICE_JOB_S3_ENDPOINT``, say 10.252.0.1:8333 on the pod network's bridge) to the
store's own (127.0.0.1:8333). SeaweedFS binds one address; the forwarder adds the second."""

import contextlib
import ipaddress
import logging
import socket
import threading
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

CHUNK = 256 * 1024


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(CHUNK):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Forwarder:
    def __init__(self, listen: str, target: str) -> None:
        """``listen`` and ``target``: URLs (http://host:port). A listen URL naming an address
        binds that address only; one naming a host (a cluster Service's name, which resolves
        elsewhere) binds every address of this pod."""
        here, there = urlsplit(listen), urlsplit(target)
        host = here.hostname or "127.0.0.1"
        try:
            ipaddress.ip_address(host)
        except ValueError:
            host = "0.0.0.0"  # noqa: S104 (inside the manager's pod, behind its Service)
        self._listen = (host, here.port or 80)
        self._target = (there.hostname or "127.0.0.1", there.port or 80)
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(self._listen)
        server.listen(128)
        self._server = server
        self._thread = threading.Thread(target=self._accept, name="s3-forward", daemon=True)
        self._thread.start()
        log.info("object store also reachable at %s:%d (for pods)", *self._listen)

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
