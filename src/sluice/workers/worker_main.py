"""The handler worker process: import the handler once, run ``init`` once, serve requests.

Run by path, under the service's own interpreter, which may lack Sluice::

    <python> /abs/path/worker_main.py --handler pkg.mod:fn [--init pkg.mod:fn] [--service s]
    <python> /abs/path/worker_main.py --check --handler pkg.mod:fn [--init pkg.mod:fn]

So this file imports nothing from Sluice and is kept runnable on Python 3.8 and later.

The parent talks to it over stdin and stdout: each message is a 4-byte big-endian length
and that many bytes of UTF-8 JSON. The worker first sends ``{"ready": true}``, or
``{"ready": false, "error": "<traceback>"}`` and exits. Then, for every request
``{"id": n, "items": [{"input": path, "output_dir": path}, ...]}`` it answers
``{"id": n, "results": [{"ok", "error", "text", "binary", "log"}, ...]}`` in item order;
``text`` is base64 when ``binary`` is true. It exits when stdin is closed. ``--check``
only imports and resolves both callables, sends ``{"ok": bool, "error": str | null}``
and exits.

fd 2 must be a regular file opened for append, given by the parent: it becomes the log.
fd 1 is pointed at it too, so the handler's prints (and its children's) never reach the
protocol pipe; the file is emptied before every invocation and read back after it.

In a container, where stdio belongs to the engine, ``--connect SOCKET`` carries the same
messages over a Unix socket the parent listens on, and ``--log FILE`` names the log file
(both in a folder the parent shares with the container).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib
import inspect
import json
import os
import socket
import stat
import struct
import sys
import traceback
from collections.abc import Callable
from typing import Any

BATCH_ATTRIBUTE = "__sluice_batch__"  # the mark set by sluice.workers.handler_api.batch
_HEADER = struct.Struct(">I")


class ResolveError(Exception):
    """A ``module:function`` that cannot be imported or is not a callable."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail  # the full traceback of a failed import


class Channel:
    """Length-prefixed JSON messages over two file descriptors."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._read_fd = read_fd
        self._write_fd = write_fd

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        view = memoryview(_HEADER.pack(len(data)) + data)
        while view:
            view = view[os.write(self._write_fd, view) :]

    def receive(self) -> dict[str, Any] | None:
        """The next message, or None when the parent has closed the pipe."""
        header = self._read_exactly(_HEADER.size)
        if header is None:
            return None
        body = self._read_exactly(_HEADER.unpack(header)[0])
        if body is None:
            return None
        message: dict[str, Any] = json.loads(body)
        return message

    def _read_exactly(self, size: int) -> bytes | None:
        chunks: list[bytes] = []
        while size:
            chunk = os.read(self._read_fd, size)
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)


class Log:
    """The log file on fd 1 and 2, one invocation at a time."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._usable = stat.S_ISREG(os.fstat(2).st_mode)

    def reset(self) -> None:
        _flush()
        if self._usable:
            os.ftruncate(2, 0)

    def read(self) -> str:
        _flush()
        if not self._usable:
            return ""
        size = os.fstat(2).st_size
        text = os.pread(2, self._cap, 0).decode(errors="replace")
        if size > self._cap:  # the parent trims a runaway log to cap + 1 bytes
            text += f"\n[sluice] log truncated to its first {self._cap} bytes\n"
        return text


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or broken by the handler
            stream.flush()


def take_over_stdio(connect: str | None = None, log: str | None = None) -> Channel:
    """Keep the protocol on private fds (the pipes, or a socket to ``connect``); stdin reads
    nothing, stdout joins the log (fd 2, or the file ``log``)."""
    if log is not None:
        log_fd = os.open(log, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(log_fd, 2)
        os.close(log_fd)
    if connect is None:
        channel = Channel(os.dup(0), os.dup(1))  # os.dup: not inherited by children
    else:
        peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        peer.connect(connect)
        fd = peer.detach()  # not inheritable: the handler's children never see it
        channel = Channel(fd, fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True, errors="backslashreplace")
    return channel


def _one_line(exc: BaseException) -> str:
    line = traceback.format_exception_only(type(exc), exc)[-1].strip()
    if isinstance(exc, SyntaxError) and exc.filename:
        line += f" ({exc.filename}, line {exc.lineno})"
    return line


def resolve(target: str) -> Callable[..., Any]:
    """The callable named by ``module:attribute`` (the attribute may be dotted)."""
    module_name, _, attribute = target.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
    except BaseException as exc:  # importing runs user code, which may raise anything
        message = f"cannot import module {module_name!r}: {_one_line(exc)}"
        raise ResolveError(message, traceback.format_exc()) from None
    for name in attribute.split("."):
        if not hasattr(value, name):
            raise ResolveError(f"module {module_name!r} has no attribute {attribute!r}")
        value = getattr(value, name)
    if not callable(value):
        raise ResolveError(f"{attribute!r} is not callable (type {type(value).__name__})")
    return value  # type: ignore[no-any-return]


def _fix_import_path() -> None:
    """Import from the working directory, as ``python -m`` would, not from this folder."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path[0] = os.getcwd()


def _accepts_state(handler: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "state" or p.kind is p.VAR_KEYWORD for p in parameters)


def _takes_context(init: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(init).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(p.kind in positional or p.kind is p.VAR_POSITIONAL for p in parameters)


def _returned(value: object) -> dict[str, Any]:
    if value is None:
        return {"text": None, "binary": False}
    if isinstance(value, str):
        return {"text": value, "binary": False}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"text": base64.b64encode(bytes(value)).decode("ascii"), "binary": True}
    raise TypeError(f"the handler returned a {type(value).__name__}; expected None, str or bytes")


def _failure(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "text": None, "binary": False}


class Server:
    """Calls the handler for each request, in the single or the batch form."""

    def __init__(self, handler: Callable[..., Any], state: object, log: Log) -> None:
        self._handler = handler
        self._kwargs = {"state": state} if _accepts_state(handler) else {}
        self._batch = getattr(handler, BATCH_ATTRIBUTE, False) is True
        self._log = log

    def serve(self, channel: Channel) -> None:
        while True:
            request = channel.receive()
            if request is None:
                return
            items = request["items"]
            results = self._run_batch(items) if self._batch else [self._run(i) for i in items]
            channel.send({"id": request["id"], "results": results})

    def _run(self, item: dict[str, str]) -> dict[str, Any]:
        self._log.reset()
        try:
            os.makedirs(item["output_dir"], exist_ok=True)
            returned = self._handler(item["input"], item["output_dir"], **self._kwargs)
            result = {"ok": True, "error": None, **_returned(returned)}
        except KeyboardInterrupt:
            raise
        except BaseException:  # SystemExit too: a handler must not end the worker
            result = _failure(traceback.format_exc())
        result["log"] = self._log.read()
        return result

    def _run_batch(self, items: list[dict[str, str]]) -> list[dict[str, Any]]:
        self._log.reset()
        inputs = [item["input"] for item in items]
        output_dirs = [item["output_dir"] for item in items]
        try:
            for output_dir in output_dirs:
                os.makedirs(output_dir, exist_ok=True)
            returned = self._handler(inputs, output_dirs, **self._kwargs)
            results = [{"ok": True, "error": None, **r} for r in _batch_returned(returned, items)]
        except KeyboardInterrupt:
            raise
        except BaseException:
            results = [_failure(traceback.format_exc()) for _ in items]
        log = self._log.read()
        for result in results:
            result["log"] = log
        return results


def _batch_returned(value: object, items: list[dict[str, str]]) -> list[dict[str, Any]]:
    if value is None:
        return [_returned(None) for _ in items]
    if not isinstance(value, (list, tuple)) or len(value) != len(items):
        raise TypeError(f"a batch handler must return None or a list of {len(items)} results")
    return [_returned(each) for each in value]


def _initialise(init_target: str | None, service: str) -> object:
    if init_target is None:
        return None
    init = _resolve_labelled("init", init_target)
    if _takes_context(init):
        return init({"service": service, "env": dict(os.environ)})
    return init()


def _resolve_labelled(label: str, target: str) -> Callable[..., Any]:
    try:
        return resolve(target)
    except ResolveError as exc:
        raise ResolveError(f"{label} {target!r}: {exc}", exc.detail) from None


def _parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A Sluice handler worker.")
    parser.add_argument("--handler", required=True)
    parser.add_argument("--init")
    parser.add_argument("--service", default="")
    parser.add_argument("--log-cap", type=int, default=65536)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--connect", help="a Unix socket to talk over instead of stdio")
    parser.add_argument("--log", help="the log file, instead of fd 2")
    return parser.parse_args(argv)


def _check(channel: Channel, arguments: argparse.Namespace) -> int:
    try:
        _resolve_labelled("handler", arguments.handler)
        if arguments.init is not None:
            _resolve_labelled("init", arguments.init)
    except ResolveError as exc:
        channel.send({"ok": False, "error": str(exc)})
        return 1
    channel.send({"ok": True, "error": None})
    return 0


def main(argv: list[str]) -> int:
    arguments = _parse_arguments(argv)
    channel = take_over_stdio(arguments.connect, arguments.log)
    _fix_import_path()
    if arguments.check:
        return _check(channel, arguments)
    try:
        handler = _resolve_labelled("handler", arguments.handler)
        state = _initialise(arguments.init, arguments.service)
    except ResolveError as exc:
        channel.send({"ready": False, "error": f"{exc}\n\n{exc.detail}".strip()})
        return 1
    except BaseException:
        error = f"init {arguments.init!r} failed:\n{traceback.format_exc()}"
        channel.send({"ready": False, "error": error})
        return 1
    channel.send({"ready": True})
    Server(handler, state, Log(arguments.log_cap)).serve(channel)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
