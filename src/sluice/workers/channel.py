"""The parent's end of the worker protocol: 4-byte big-endian length, then UTF-8 JSON.

The worker's own end is a copy in ``worker_main.py``, which may not import Sluice.
"""

import json
import os
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from sluice.errors import BackendError

HEADER = struct.Struct(">I")
MAX_MESSAGE = 1 << 30  # bytes; anything larger means the stream is out of step


class ChannelClosed(Exception):
    """The worker closed its end (it exited, most likely)."""


class ProtocolError(Exception):
    """The worker sent something that is not a message we understand."""


def encode(message: dict[str, Any]) -> bytes:
    data = json.dumps(message).encode()
    return HEADER.pack(len(data)) + data


def write_message(fd: int, message: dict[str, Any]) -> None:
    """Blocks until written; raises ChannelClosed when the worker is gone."""
    view = memoryview(encode(message))
    try:
        while view:
            view = view[os.write(fd, view) :]
    except (BrokenPipeError, ConnectionResetError) as exc:
        raise ChannelClosed from exc


class Reader:
    """Collects bytes from a pipe without blocking past a deadline, one message at a time."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._poller = select.poll()  # unlike select.select, fine with fd numbers over 1023
        self._poller.register(fd, select.POLLIN)

    def poll(self, wait: float) -> dict[str, Any] | None:
        """The next message if one is complete within ``wait`` seconds, else None. A message
        that comes in many pieces (a pipe carries 64 KiB at a time) is read on for as long as
        its bytes keep coming, so the caller's checks between polls do not run once a piece."""
        deadline = time.monotonic() + max(wait, 0)
        while (message := self._take()) is None:
            if not self._poller.poll(max(deadline - time.monotonic(), 0) * 1000):
                return None
            chunk = os.read(self._fd, 1 << 20)
            if not chunk:
                raise ChannelClosed
            self._buffer += chunk
        return message

    def _take(self) -> dict[str, Any] | None:
        if len(self._buffer) < HEADER.size:
            return None
        (size,) = HEADER.unpack_from(self._buffer)
        if size > MAX_MESSAGE:
            raise ProtocolError(f"a message of {size} bytes is too large")
        end = HEADER.size + size
        if len(self._buffer) < end:
            return None
        body = bytes(self._buffer[HEADER.size : end])
        del self._buffer[:end]
        try:
            message = json.loads(body)
        except ValueError as exc:
            raise ProtocolError(f"not JSON: {exc}") from exc
        if not isinstance(message, dict):
            raise ProtocolError("a message must be a JSON object")
        return message


def accept_worker(
    listener: socket.socket, timeout: float, check: Callable[[], None], what: str = "the worker"
) -> socket.socket:
    """The connection of a worker that dials ``listener`` (a worker in a container or a pod's
    other container); ``check`` raises when the worker is gone (looked at every 0.1 s)."""
    listener.settimeout(0.1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            peer, _ = listener.accept()
        except TimeoutError:
            check()
            continue
        peer.settimeout(None)
        return peer
    raise BackendError(f"{what} did not connect within {timeout:g} s")
