"""A request body as a run takes it: bytes when small, a file when large (spooled to disk at the
API's edge, so the manager's memory does not grow with it), and turned into the input file by
OSCAR's rule: JSON is kept as it is, base64 is decoded, anything else is used raw."""

import binascii
import shutil
from pathlib import Path

import pybase64

from sluice.supervisor.event import MAX_EVENT_ENV, decode_body

Body = bytes | Path

IN_MEMORY = 16 * 1024 * 1024  # a spooled body up to this size is decoded whole (exact rule)
CHUNK = 4 * 1024 * 1024  # a multiple of 4, so chunks of base64 decode on their own


def small_bytes(body: Body | None, limit: int = MAX_EVENT_ENV) -> bytes | None:
    """The body's bytes when it is at most ``limit`` long (for ``$EVENT``), else None."""
    if body is None or isinstance(body, bytes):
        return body
    try:
        if body.stat().st_size > limit:
            return None
        return body.read_bytes()
    except OSError:
        return None


def is_blank(body: Body) -> bool:
    if isinstance(body, bytes):
        return not body.strip()
    with body.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            if chunk.strip():
                return False
    return True


def write_input(body: Body, target: Path) -> None:
    """The input file of a run, from its body."""
    if isinstance(body, bytes):
        target.write_bytes(decode_body(body))
    elif body.stat().st_size <= IN_MEMORY:
        target.write_bytes(decode_body(body.read_bytes()))
    elif not _decode_base64_file(body, target):
        shutil.copyfile(body, target)  # not base64 (JSON is not either): the raw bytes


def _decode_base64_file(source: Path, target: Path) -> bool:
    """Decode ``source`` as base64 (whitespace ignored) into ``target``; False, and nothing
    kept, at the first byte that is not base64."""
    carry = b""
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(CHUNK):
            data = carry + b"".join(chunk.split())
            whole = len(data) - len(data) % 4
            try:
                writer.write(pybase64.b64decode(data[:whole], validate=True))
            except (binascii.Error, ValueError):
                break
            carry = data[whole:]
        else:
            if not carry:
                return True
    target.unlink(missing_ok=True)
    return False
