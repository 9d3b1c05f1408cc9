"""The storage seam: one small Protocol every provider implements, and the path rules they share.

Paths are written ``"bucket/key"`` or ``"bucket/folder"``: the first segment is the bucket
(for WebDAV simply the first folder), the rest is the key. Folders are a convention, so
``list_objects("b/in")`` lists everything under ``b/in/`` and never ``b/input/...``.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sluice.errors import Invalid


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object as a listing reports it."""

    path: str  # "bucket/key"
    size: int
    etag: str  # without quotes
    last_modified: datetime  # tz-aware, UTC


@dataclass(frozen=True)
class ObjectPage:
    """One page of a bucket listing, folder markers (keys ending in ``/``) included."""

    objects: list[ObjectInfo]
    next_token: str  # "" on the last page
    truncated: bool


class StorageProvider(Protocol):
    """What Sluice needs from an object store (S3, MinIO, SeaweedFS) or a WebDAV server."""

    def ensure_folder(self, path: str) -> None:
        """Create the bucket if missing and the folder marker; an existing bucket is fine."""
        ...

    def upload_file(self, local: Path, path: str) -> None:
        """Store a local file at ``path``; readers see either the old or the whole new object."""
        ...

    def download_file(self, path: str, local: Path) -> None:
        """Fetch an object into ``local``; raises NotFound if it does not exist."""
        ...

    def list_objects(self, path: str) -> Iterator[ObjectInfo]:
        """Every object under the folder ``path``, recursively; a missing bucket yields nothing."""
        ...

    def delete(self, path: str) -> None:
        """Remove an object; a missing object is not an error."""
        ...


class BucketAdmin(Protocol):
    """Whole buckets of an S3-compatible store, for the ``/system/buckets`` API."""

    def list_buckets(self) -> list[str]: ...

    def bucket_exists(self, bucket: str) -> bool: ...

    def create_bucket(self, bucket: str) -> None:
        """Create it; Conflict if it exists already."""
        ...

    def delete_bucket(self, bucket: str) -> None:
        """Delete every object in it, then the bucket; NotFound if it does not exist."""
        ...

    def list_page(self, bucket: str, token: str = "", limit: int = 1000) -> ObjectPage: ...

    def count_objects(self, bucket: str) -> int:
        """Objects with content (folder markers and empty objects are not counted)."""
        ...

    def presign(
        self,
        method: str,
        path: str,
        expires_in: int,
        content_type: str = "",
        headers: dict[str, str] | None = None,
    ) -> str:
        """A URL that lets anyone ``GET`` or ``PUT`` the object at ``path`` until it expires."""
        ...


def split_path(path: str) -> tuple[str, str]:
    """Split ``"bucket/key"`` into ``(bucket, key)``; the key may be empty."""
    trimmed = path.strip("/")
    bucket, _, key = trimmed.partition("/")
    if not bucket:
        raise Invalid(f"storage path {path!r} names no bucket; write it as 'bucket/key'")
    if any(segment in {".", ".."} for segment in trimmed.split("/")):
        raise Invalid(f"storage path {path!r} must not contain '.' or '..' segments")
    return bucket, key


def split_object_path(path: str) -> tuple[str, str]:
    """Like :func:`split_path`, for paths that must name an object rather than a folder."""
    bucket, key = split_path(path)
    if not key or path.endswith("/"):
        raise Invalid(f"storage path {path!r} names a folder; an object path is 'bucket/key'")
    return bucket, key


def folder_prefix(key: str) -> str:
    """The listing prefix for a folder key: ``""`` for a whole bucket, else ``"key/"``."""
    key = key.strip("/")
    return f"{key}/" if key else ""


def clean_etag(raw: str | None) -> str:
    """An ETag as bare text: no weak marker, no quotes."""
    if not raw:
        return ""
    etag = raw.strip()
    if etag.startswith("W/"):
        etag = etag[2:]
    return etag.strip('"')
