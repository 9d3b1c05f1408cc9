"""The embedded object store's admin key pair, generated once and kept in the data dir."""

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from sluice.errors import StorageError

_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class S3Credentials:
    access_key: str
    secret_key: str


def load_or_create_credentials(path: Path) -> S3Credentials:
    """Read the key pair at ``path``, creating it (mode 0600) on first use."""
    if path.exists():
        return _load(path)
    credentials = S3Credentials(
        access_key="SLUICE" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(14)),
        secret_key=secrets.token_urlsafe(30),
    )
    write_private_file(path, json.dumps(credentials.__dict__, indent=2) + "\n")
    return credentials


def _load(path: Path) -> S3Credentials:
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        data = json.loads(path.read_text())
        return S3Credentials(access_key=str(data["access_key"]), secret_key=str(data["secret_key"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(
            f"cannot read the object store credentials in {path} ({exc}); "
            "fix the file or delete it to generate new keys"
        ) from exc


def write_private_file(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(staging, path)
    except OSError as exc:
        staging.unlink(missing_ok=True)
        raise StorageError(f"cannot write {path}: {exc}") from exc
