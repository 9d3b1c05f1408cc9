"""The admin account: a password from the settings, or one generated once and kept private."""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AdminCredentials:
    user: str
    password: str
    generated: bool  # True only on the start that created it, so it is printed once
    stored_at: Path | None


def load_admin(user: str, password: str | None, path: Path) -> AdminCredentials:
    """The given password, or the one kept at ``path`` (made there on the first start)."""
    if password:
        return AdminCredentials(user, password, generated=False, stored_at=None)
    if path.exists():
        return AdminCredentials(user, path.read_text().strip(), generated=False, stored_at=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new_password = secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(new_password + "\n")
    return AdminCredentials(user, new_password, generated=True, stored_at=path)
