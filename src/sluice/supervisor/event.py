"""The event a job sees in ``$EVENT``, and turning a raw ``/job`` body into the input file."""

import binascii
import json

import pybase64


def event_time_of(payload: bytes | None) -> str:
    try:
        return str(json.loads(payload or b"")["Records"][0]["eventTime"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def decode_body(body: bytes) -> bytes:
    """OSCAR's rule for a body that is not a storage event: JSON is kept as it is, anything else
    is base64-decoded when it can be, and used as raw bytes otherwise."""
    try:
        json.loads(body)
    except ValueError:
        pass
    else:
        return body
    compact = b"".join(body.split())
    try:
        return pybase64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return body


MAX_EVENT_ENV = 100_000  # one environment string may not exceed 128 KiB on Linux


def event_variable(payload: bytes | None) -> str | None:
    """``$EVENT`` for a body, when it can be one: UTF-8 text with no NUL, not too long."""
    if not payload or len(payload) > MAX_EVENT_ENV or b"\x00" in payload:
        return None
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
