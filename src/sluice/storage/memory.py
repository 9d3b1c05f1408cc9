"""An object store in this process's memory: for in-process tests, and a listener hook so a test
can see uploads as events the way the embedded store's webhook reports them."""

import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sluice.errors import NotFound
from sluice.storage.base import (
    ObjectInfo,
    folder_prefix,
    split_object_path,
    split_path,
)

Listener = Callable[[str, str, str, int], None]  # bucket, key, etag, size


@dataclass(frozen=True)
class _Stored:
    data: bytes
    etag: str
    modified: datetime


class MemoryStorage:
    """Buckets of bytes. Thread-safe; every upload notifies the listeners after it is stored."""

    def __init__(self) -> None:
        self._buckets: dict[str, dict[str, _Stored]] = {}
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def on_upload(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def ensure_folder(self, path: str) -> None:
        bucket, key = split_path(path)
        with self._lock:
            objects = self._buckets.setdefault(bucket, {})
            if key:
                marker = folder_prefix(key)
                objects.setdefault(marker, _Stored(b"", _etag(b""), datetime.now(UTC)))

    def upload_file(self, local: Path, path: str) -> None:
        self.put(path, local.read_bytes())

    def put(self, path: str, data: bytes) -> str:
        """Store ``data`` at ``path``; its ETag."""
        bucket, key = split_object_path(path)
        stored = _Stored(data, _etag(data), datetime.now(UTC))
        with self._lock:
            self._buckets.setdefault(bucket, {})[key] = stored
        for listener in self._listeners:
            listener(bucket, key, stored.etag, len(data))
        return stored.etag

    def get(self, path: str) -> bytes:
        bucket, key = split_object_path(path)
        with self._lock:
            stored = self._buckets.get(bucket, {}).get(key)
        if stored is None:
            raise NotFound(f"object {path!r} not found")
        return stored.data

    def download_file(self, path: str, local: Path) -> None:
        local.write_bytes(self.get(path))

    def list_objects(self, path: str) -> Iterator[ObjectInfo]:
        bucket, key = split_path(path)
        prefix = folder_prefix(key)
        with self._lock:
            items = sorted(self._buckets.get(bucket, {}).items())
        for name, stored in items:
            if name.startswith(prefix) and not name.endswith("/"):
                yield ObjectInfo(f"{bucket}/{name}", len(stored.data), stored.etag, stored.modified)

    def delete(self, path: str) -> None:
        bucket, key = split_object_path(path)
        with self._lock:
            self._buckets.get(bucket, {}).pop(key, None)


def _etag(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
