"""Body encoding shared with OSCAR clients: invocation outputs are usually base64 text."""

import base64
import binascii


def decode_output(data: bytes) -> bytes:
    """Base64-decode ``data`` when it is strict base64 (surrounding whitespace allowed).

    Anything else (plain text, binary) comes back unchanged, as oscar-cli does.
    """
    text = data.strip()
    if not text:
        return data
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return data
