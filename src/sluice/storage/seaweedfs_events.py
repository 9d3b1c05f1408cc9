"""Turn SeaweedFS filer webhook notifications into "this object is new or changed" events.

A webhook body looks like this (``weed`` 4.48; ``extended`` values and ``md5`` are base64)::

    {"event_type": "create",            # or "update", "delete", "rename"
     "key": "/buckets/inbox/in/photo.jpg",
     "message": {"new_parent_path": "/buckets/inbox/in",
                 "new_entry": {"name": "photo.jpg", "chunks": [...],
                               "attributes": {"file_size": 200, "md5": "XrY7...==", ...},
                               "extended": {"Seaweed-X-Amz-ETag": "<base64 of the S3 ETag>"}},
                 "old_entry": {...}}}   # old_entry on update, rename and delete

An ``update`` whose chunks did not change (tagging, ACLs, a metadata-only copy) is not a new
version of the file and is dropped; any re-upload, even of identical bytes, writes new chunks.

The S3 gateway stores the ETag it reports in ``Seaweed-X-Amz-ETag`` (for a multipart upload
that is ``<md5 of part md5s>-<parts>``, and ``attributes.md5`` is absent), so that value wins.
Entries written without the S3 gateway fall back to SeaweedFS's own rule (``filer.ETagEntry``):
the md5 attribute, else the chunk ETags, which is what ListObjects reports for them too.
"""

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_BUCKETS_ROOT = "/buckets/"
_S3_ETAG = "Seaweed-X-Amz-ETag"
_FILE_EVENTS = frozenset({"create", "update", "rename"})
# SeaweedFS's own bookkeeping inside a bucket: multipart parts live under ".uploads/".
_INTERNAL_PREFIXES = (".uploads/",)
_HEX_MD5 = re.compile(r"[0-9a-fA-F]{32}")


@dataclass(frozen=True)
class ObjectEvent:
    """An object was written (created, overwritten or moved into place)."""

    bucket: str
    key: str
    etag: str
    size: int
    event_type: str


def parse_webhook_event(body: Mapping[str, Any]) -> ObjectEvent | None:
    """The object a webhook body announces, or None for folders, deletes and internals."""
    event_type = body.get("event_type")
    message = body.get("message")
    if not isinstance(event_type, str) or event_type not in _FILE_EVENTS:
        return None
    if not isinstance(message, Mapping):
        return None
    entry = message.get("new_entry")
    if not isinstance(entry, Mapping) or entry.get("is_directory"):
        return None
    if event_type == "update" and _same_content(message.get("old_entry"), entry):
        return None
    location = _bucket_and_key(_entry_path(body, message, entry))
    if location is None:
        return None
    attributes = entry.get("attributes")
    size = attributes.get("file_size", 0) if isinstance(attributes, Mapping) else 0
    return ObjectEvent(
        bucket=location[0],
        key=location[1],
        etag=entry_etag(entry),
        size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else 0,
        event_type=event_type,
    )


def entry_etag(entry: Mapping[str, Any]) -> str:
    """The ETag S3 ListObjects reports for a filer entry, without quotes."""
    extended = entry.get("extended")
    if isinstance(extended, Mapping) and extended.get(_S3_ETAG):
        return _b64_text(str(extended[_S3_ETAG])).strip('"')
    attributes = entry.get("attributes")
    if isinstance(attributes, Mapping) and attributes.get("md5"):
        return _md5_bytes(str(attributes["md5"])).hex()
    chunks = entry.get("chunks")
    return _chunks_etag(chunks if isinstance(chunks, Sequence) else [])


def _entry_path(
    body: Mapping[str, Any], message: Mapping[str, Any], entry: Mapping[str, Any]
) -> str:
    # For a rename, "key" is the old path; parent + name always give where the file is now.
    parent, name = message.get("new_parent_path"), entry.get("name")
    if isinstance(parent, str) and isinstance(name, str) and name:
        return f"{parent.rstrip('/')}/{name}"
    return str(body.get("key", ""))


def _same_content(old: Any, new: Mapping[str, Any]) -> bool:
    # Tagging, ACLs and in-place metadata copies rewrite the entry but keep its chunks;
    # any new upload writes new chunks. Empty files have none, so they always count.
    if not isinstance(old, Mapping):
        return False
    old_ids, new_ids = _chunk_ids(old), _chunk_ids(new)
    return bool(new_ids) and None not in new_ids and old_ids == new_ids


def _chunk_ids(entry: Mapping[str, Any]) -> list[tuple[int, int, int] | None]:
    chunks = entry.get("chunks")
    if not isinstance(chunks, Sequence):
        return []
    return [_chunk_id(chunk) for chunk in chunks]


def _chunk_id(chunk: Any) -> tuple[int, int, int] | None:
    # One needle appears as {"fid": {...}} or as "file_id": "<volume>,<key hex><cookie hex>".
    if not isinstance(chunk, Mapping):
        return None
    fid = chunk.get("fid")
    try:
        if isinstance(fid, Mapping):
            volume_id, file_key, cookie = (
                fid.get("volume_id", 0),
                fid.get("file_key", 0),
                fid.get("cookie", 0),
            )
            return int(volume_id), int(file_key), int(cookie)
        volume, _, needle = str(chunk.get("file_id", "")).partition(",")
        return int(volume), int(needle[:-8], 16), int(needle[-8:], 16)
    except (TypeError, ValueError, OverflowError):  # not a needle id: a malformed notification
        return None


def _bucket_and_key(path: str) -> tuple[str, str] | None:
    if not path.startswith(_BUCKETS_ROOT):
        return None
    bucket, _, key = path[len(_BUCKETS_ROOT) :].partition("/")
    if not bucket or bucket.startswith(".") or not key or key.endswith("/"):
        return None
    if not _is_text(path) or "\x00" in path:  # no store names an object so
        return None
    if key.startswith(_INTERNAL_PREFIXES):
        return None
    return bucket, key


def _chunks_etag(chunks: Sequence[Any]) -> str:
    digests = [
        _md5_bytes(str(chunk.get("e_tag", "")) if isinstance(chunk, Mapping) else "")
        for chunk in chunks
    ]
    if len(digests) == 1:
        return digests[0].hex()
    joined = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
    return f"{joined}-{len(digests)}"


def _md5_bytes(value: str) -> bytes:
    # Older filers stored chunk ETags as hex, newer ones as base64.
    if _HEX_MD5.fullmatch(value):
        return bytes.fromhex(value)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _is_text(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _b64_text(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return value
