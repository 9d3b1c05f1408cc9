"""Secrets encrypted at rest (Fernet: AES-128-CBC with an HMAC), with a key from the settings
or kept in the data dir, readable by Sluice's user only."""

import base64
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from sluice.errors import StateError

PREFIX = "enc:v1:"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise StateError(
                "SLUICE_SECRET_KEY must be 32 url-safe base64-encoded bytes, as "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key()"
                ".decode())'` prints"
            ) from exc

    @classmethod
    def load(cls, key: str | None, key_file: Path) -> "SecretBox":
        """The given key, else the data dir's (made on the first start)."""
        if key:
            return cls(key.encode())
        if not key_file.exists():
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        return cls(key_file.read_bytes().strip())

    def seal(self, text: str) -> str:
        if text.startswith(PREFIX):
            return text
        token = self._fernet.encrypt(text.encode())
        return PREFIX + base64.urlsafe_b64encode(token).decode()

    def open(self, text: str) -> str:
        """The secret; a value stored before encryption was turned on comes back as it is."""
        if not text.startswith(PREFIX):
            return text
        try:
            token = base64.urlsafe_b64decode(text[len(PREFIX) :])
            return self._fernet.decrypt(token).decode()
        except (InvalidToken, ValueError):
            raise StateError(
                "cannot decrypt the stored secrets: the secret key is not the one they were "
                "stored with (SLUICE_SECRET_KEY, or secret.key in the data dir)"
            ) from None
