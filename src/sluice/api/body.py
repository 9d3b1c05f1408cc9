"""Reading request bodies with errors that say what is wrong, and without holding a large one
in memory: past ``IN_MEMORY`` bytes a body is spooled to a private file."""

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from fastapi import Request

from sluice.domain.quantity import format_memory
from sluice.errors import Invalid, TooLarge
from sluice.supervisor.body import Body

IN_MEMORY = 1024 * 1024


async def read_json(request: Request, what: str = "the service definition") -> Any:
    raw = await request.body()
    if not raw.strip():
        raise Invalid(f"the request body is empty; send {what} as JSON")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise Invalid("the request body is not UTF-8 text; send JSON") from None
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


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
