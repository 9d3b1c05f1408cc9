"""Reading request bodies with errors that say what is wrong, and without holding a large one
in memory: past ``IN_MEMORY`` bytes a body is spooled to a private file.

JSON is read strictly: ``NaN``, ``Infinity`` and numbers out of a double's range (``1e400``)
are refused, naming where they are, as JSON itself refuses them (Python's decoder would take
them, store them, and then fail to write them back out); so are nesting deeper than
``MAX_JSON_DEPTH`` and integers of more than ``MAX_INTEGER_DIGITS`` digits.
"""

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from fastapi import Request

from sluice.domain.quantity import format_memory
from sluice.errors import Invalid, TooLarge
from sluice.supervisor.body import Body

IN_MEMORY = 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_INTEGER_DIGITS = 100


class _Refused:
    """Stands in for a number JSON does not allow, so its place can be named afterwards."""

    def __init__(self, text: str, why: str) -> None:
        self.text = text if len(text) <= 24 else text[:20] + "..."
        self.why = why


def _constant(name: str) -> Any:
    return _Refused(name, "is not a number JSON allows")


def _float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _Refused(text, "is out of range for a number")


def _int(text: str) -> Any:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        return _Refused(text, f"has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def parse_json(raw: bytes | str, what: str = "the request body") -> Any:
    """Decode JSON text, or raise ``Invalid`` saying what is wrong with it and where."""
    try:
        value = json.loads(raw, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except UnicodeDecodeError:
        raise Invalid(f"{what} is not UTF-8 text; send JSON") from None
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise Invalid(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels") from None
    problem = _problem(value, what)
    if problem:
        raise Invalid(problem)
    return value


def _problem(value: Any, what: str) -> str | None:
    """The first refused number (``timeout: Infinity is not …``) or too deep a nesting,
    found without recursion."""
    stack: list[tuple[tuple[str, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            return f"{what} is nested deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(item, _Refused):
            where = ".".join(path)
            return (
                f"{what} is not valid JSON: {where + ': ' if where else ''}{item.text} {item.why}"
            )
        if isinstance(item, dict):
            stack.extend(((*path, _name(key)), child) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend(((*path, str(index)), child) for index, child in enumerate(item))
    return None


def _name(key: str) -> str:
    return key if key.isprintable() and len(key) <= 40 else repr(key)[:40]


async def read_json(request: Request, what: str = "the service definition") -> Any:
    raw = await request.body()
    if not raw.strip():
        raise Invalid(f"the request body is empty; send {what} as JSON")
    return parse_json(raw)


async def receive_body(request: Request, spool: Path, cap: int) -> Body:
    """The body as bytes, or as a file in ``spool`` once it outgrows memory (the caller owns
    and removes the file). TooLarge past ``cap`` bytes, before or while it arrives."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > cap:
        raise _too_large(cap)
    buffer = bytearray()
    spooled: tuple[int, Path] | None = None
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise _too_large(cap)
            if spooled is None and size <= IN_MEMORY:
                buffer += chunk
                continue
            if spooled is None:
                spooled = _spool_file(spool)
                os.write(spooled[0], buffer)
                buffer.clear()
            _write_all(spooled[0], chunk)
    except BaseException:
        if spooled is not None:
            os.close(spooled[0])
            spooled[1].unlink(missing_ok=True)
        raise
    if spooled is None:
        return bytes(buffer)
    os.close(spooled[0])
    return spooled[1]


def discard(body: Body) -> None:
    if isinstance(body, Path):
        with contextlib.suppress(OSError):
            body.unlink()


def _spool_file(spool: Path) -> tuple[int, Path]:
    spool.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="body-", dir=spool)
    return fd, Path(name)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _too_large(cap: int) -> TooLarge:
    return TooLarge(
        f"the request body is larger than the limit of {format_memory(cap)} "
        "(SLUICE_MAX_BODY on the server)"
    )
