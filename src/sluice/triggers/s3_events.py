"""S3/MinIO event notifications: parsing the body MinIO posts to OSCAR's ``/job/{service}``, and
building the one a job sees for a stored object."""

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote_plus

from sluice.domain.job import ObjectRef
from sluice.domain.service import BUCKET_PATTERN
from sluice.errors import Invalid

STORAGE_SOURCES = ("aws:s3", "minio:s3")
MAX_RECORDS = 1000
MAX_KEY_BYTES = 1024  # S3's limit on an object key
MAX_ETAG_LENGTH = 256
MAX_OBJECT_SIZE = 2**53  # 8 PiB: more than any store keeps, and exact in JSON


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    etag: str
    size: int
    event_time: datetime


def is_storage_event(body: Any) -> bool:
    return isinstance(body, dict) and "Records" in body


def parse_storage_event(body: dict[str, Any]) -> list[StoredObject]:
    """Every created object an S3 notification names. Invalid, naming the field, if it is not
    a well-formed one: each field is checked for its type and range before anything is queued."""
    records = body.get("Records")
    if not isinstance(records, list) or not records:
        raise Invalid("event body: 'Records' must be a non-empty list of S3 event records")
    if len(records) > MAX_RECORDS:
        raise Invalid(f"event body: 'Records' has {len(records)} records; at most {MAX_RECORDS}")
    objects = []
    for index, record in enumerate(records):
        where = f"event body: Records[{index}]"
        if not isinstance(record, dict) or record.get("eventSource") not in STORAGE_SOURCES:
            raise Invalid(f"{where}.eventSource must be one of {', '.join(STORAGE_SOURCES)}")
        name = record.get("eventName", "")
        if not isinstance(name, str):
            raise Invalid(f"{where}.eventName must be a string such as s3:ObjectCreated:Put")
        if not name.startswith(("s3:ObjectCreated", "ObjectCreated")):
            continue
        objects.append(_stored_object(record, where))
    return objects


def _stored_object(record: dict[str, Any], where: str) -> StoredObject:
    s3 = record.get("s3")
    bucket = s3.get("bucket") if isinstance(s3, dict) else None
    obj = s3.get("object") if isinstance(s3, dict) else None
    if not isinstance(bucket, dict) or not isinstance(obj, dict):
        raise Invalid(f"{where}: s3.bucket.name and s3.object are required")
    return StoredObject(
        bucket=_bucket(bucket.get("name"), f"{where}.s3.bucket.name"),
        key=_key(obj.get("key"), f"{where}.s3.object.key"),
        etag=_etag(obj.get("eTag", obj.get("etag")), f"{where}.s3.object.eTag"),
        size=_size(obj.get("size"), f"{where}.s3.object.size"),
        event_time=_parse_time(record.get("eventTime"), f"{where}.eventTime"),
    )


def _bucket(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid(f"{where} is required")
    if not BUCKET_PATTERN.fullmatch(value):
        raise Invalid(f"{where}: {value[:70]!r} is not a bucket name")
    return value


def _key(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid(f"{where} is required")
    try:
        key = unquote_plus(value, errors="strict")
        key.encode()
    except UnicodeError:
        raise Invalid(f"{where} must be URL-encoded UTF-8 text") from None
    if "\x00" in key:
        raise Invalid(f"{where} must not contain NUL characters")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise Invalid(f"{where} is longer than {MAX_KEY_BYTES} bytes")
    return key


def _etag(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not _is_text(value) or len(value) > MAX_ETAG_LENGTH:
        raise Invalid(f"{where} must be a string of at most {MAX_ETAG_LENGTH} characters")
    return value.strip('"')


def _size(value: Any, where: str) -> int:
    """A byte count: MinIO sends an integer; an integral float (``7.0``) is taken too."""
    if value is None:
        return 0
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{where} must be a whole number of bytes, not {_kind(value)}")
    if not 0 <= value <= MAX_OBJECT_SIZE:
        raise Invalid(f"{where} must be between 0 and {MAX_OBJECT_SIZE} bytes")
    return value


def _parse_time(value: Any, where: str) -> datetime:
    """An ISO 8601 time (``2026-11-22T10:00:00.000Z``); now when the record has none."""
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise Invalid(f"{where} must be an ISO 8601 time such as 2026-11-22T10:00:00Z")


def _is_text(value: str) -> bool:
    """Encodable as UTF-8: JSON's ``\\ud800`` escapes decode to lone surrogates, which are not."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _kind(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return {bool: "a boolean", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def storage_event(ref: ObjectRef, size: int, event_time: datetime) -> bytes:
    """A MinIO-style ObjectCreated notification, as OSCAR's supervisor receives one."""
    record: dict[str, Any] = {
        "eventVersion": "2.0",
        "eventSource": "minio:s3",
        "awsRegion": "",
        "eventTime": event_time.isoformat().replace("+00:00", "Z"),
        "eventName": "s3:ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": ref.bucket, "arn": f"arn:aws:s3:::{ref.bucket}"},
            "object": {"key": quote(ref.key), "size": size, "eTag": ref.etag},
        },
    }
    body = {
        "EventName": "s3:ObjectCreated:Put",
        "Key": f"{ref.bucket}/{ref.key}",
        "Records": [record],
    }
    return json.dumps(body).encode()
