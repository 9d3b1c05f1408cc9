"""S3/MinIO event notifications: parsing the body MinIO posts to OSCAR's ``/job/{service}``, and
building the one a job sees for a stored object."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote_plus

from sluice.domain.job import ObjectRef
from sluice.errors import Invalid

STORAGE_SOURCES = ("aws:s3", "minio:s3")


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
    """Every created object an S3 notification names. Invalid if it is not a well-formed one."""
    records = body.get("Records")
    if not isinstance(records, list) or not records:
        raise Invalid("event body: 'Records' must be a non-empty list of S3 event records")
    objects = []
    for index, record in enumerate(records):
        where = f"event body: Records[{index}]"
        if not isinstance(record, dict) or record.get("eventSource") not in STORAGE_SOURCES:
            raise Invalid(f"{where}.eventSource must be one of {', '.join(STORAGE_SOURCES)}")
        if not str(record.get("eventName", "")).startswith(("s3:ObjectCreated", "ObjectCreated")):
            continue
        objects.append(_stored_object(record, where))
    return objects


def _stored_object(record: dict[str, Any], where: str) -> StoredObject:
    s3 = record.get("s3")
    bucket = s3.get("bucket", {}).get("name") if isinstance(s3, dict) else None
    obj = s3.get("object") if isinstance(s3, dict) else None
    if not isinstance(bucket, str) or not bucket or not isinstance(obj, dict):
        raise Invalid(f"{where}: s3.bucket.name and s3.object are required")
    key = obj.get("key")
    if not isinstance(key, str) or not key:
        raise Invalid(f"{where}: s3.object.key is required")
    return StoredObject(
        bucket=bucket,
        key=unquote_plus(key),
        etag=str(obj.get("eTag") or obj.get("etag") or "").strip('"'),
        size=int(obj.get("size") or 0),
        event_time=_parse_time(record.get("eventTime")),
    )


def _parse_time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.now(UTC)


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
