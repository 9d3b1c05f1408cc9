"""parse_webhook_event on bodies captured from weed 4.48 (trimmed to the fields that matter)."""

import base64
import hashlib
from typing import Any

import pytest

from sluice.storage.seaweedfs_events import ObjectEvent, entry_etag, parse_webhook_event


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


SMALL_CREATE: dict[str, Any] = {
    "event_type": "create",
    "key": "/buckets/inbox/folder/small.txt",
    "message": {
        "new_entry": {
            "name": "small.txt",
            "chunks": [
                {
                    "size": 11,
                    "e_tag": "XrY7u+Ae7tCTyyK7j1rNww==",
                    "fid": {"volume_id": 1, "file_key": 1, "cookie": 1912267984},
                }
            ],
            "attributes": {
                "file_size": 11,
                "mime": "text/plain",
                "md5": "XrY7u+Ae7tCTyyK7j1rNww==",
            },
            "extended": {
                "Seaweed-X-Amz-ETag": "NWViNjNiYmJlMDFlZWVkMDkzY2IyMmJiOGY1YWNkYzM=",
                "Seaweed-X-Amz-Owner": "YWRtaW4=",
            },
        },
        "delete_chunks": True,
        "new_parent_path": "/buckets/inbox/folder",
    },
}

MULTIPART_CREATE: dict[str, Any] = {
    "event_type": "create",
    "key": "/buckets/inbox/folder/big.bin",
    "message": {
        "new_entry": {
            "name": "big.bin",
            "chunks": [
                {"size": 4194304, "e_tag": "HJg3g4ZSU69+FcDzj7gwrA==", "fid": {"file_key": 4}},
                {"offset": 4194304, "size": 4194304, "e_tag": "s+hqZUszGaN2D6QbtpYS/w=="},
                {"offset": 8388608, "size": 1048576, "e_tag": "4mjHNaGjRs08u9Sh4MDFwg=="},
            ],
            "attributes": {"file_size": 9437184, "file_mode": 504},
            "extended": {
                "Seaweed-X-Amz-ETag": "Y2QwOTI2NDI1MzZjM2EwZjJiMWU4MDljYTk5ODhlNjEtMg==",
                "X-Seaweedfs-Multipart-Parts-Count": "Mg==",
            },
        },
        "new_parent_path": "/buckets/inbox/folder",
    },
}


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}


def test_small_put() -> None:
    assert parse_webhook_event(SMALL_CREATE) == ObjectEvent(
        bucket="inbox",
        key="folder/small.txt",
        etag="5eb63bbbe01eeed093cb22bb8f5acdc3",
        size=11,
        event_type="create",
    )


def test_multipart_put_keeps_the_s3_etag() -> None:
    event = parse_webhook_event(MULTIPART_CREATE)
    assert event is not None
    assert (event.etag, event.size) == ("cd092642536c3a0f2b1e809ca9988e61-2", 9437184)


def test_update_with_new_chunks_is_an_event() -> None:
    old = SMALL_CREATE["message"]["new_entry"]
    new = {**old, "chunks": [{"size": 12, "e_tag": "x", "fid": {"volume_id": 1, "file_key": 2}}]}
    body = _with(SMALL_CREATE, event_type="update")
    body["message"] = {**SMALL_CREATE["message"], "old_entry": old, "new_entry": new}
    event = parse_webhook_event(body)
    assert event is not None
    assert event.event_type == "update"


def test_metadata_only_update_is_ignored() -> None:
    # Tagging keeps the needle; the old entry names it as a file_id string.
    new = SMALL_CREATE["message"]["new_entry"]
    old = {**new, "chunks": [{"file_id": "1,0171fae4d0", "size": 11}]}
    body = _with(SMALL_CREATE, event_type="update")
    body["message"] = {**SMALL_CREATE["message"], "old_entry": old}
    assert parse_webhook_event(body) is None


@pytest.mark.parametrize(
    "body",
    [
        _with(SMALL_CREATE, event_type="delete"),
        {
            "event_type": "create",
            "key": "/buckets/inbox/folder",
            "message": {
                "new_entry": {"name": "folder", "is_directory": True},
                "new_parent_path": "/buckets/inbox",
            },
        },
        {
            "event_type": "create",
            "key": "/buckets/.system/owners/.complete",
            "message": {
                "new_entry": {"name": ".complete"},
                "new_parent_path": "/buckets/.system/owners",
            },
        },
        {
            "event_type": "create",
            "key": "/buckets/inbox/.uploads/abc/0001_x.part",
            "message": {
                "new_entry": {"name": "0001_x.part"},
                "new_parent_path": "/buckets/inbox/.uploads/abc",
            },
        },
        {
            "event_type": "create",
            "key": "/topics/x",
            "message": {"new_entry": {"name": "x"}, "new_parent_path": "/topics"},
        },
        {"event_type": "create", "key": "/buckets/inbox/x"},
        {"not": "a seaweedfs body"},
    ],
    ids=[
        "delete",
        "directory",
        "system",
        "multipart-part",
        "outside-buckets",
        "no-message",
        "junk",
    ],
)
def test_non_object_events_are_ignored(body: dict[str, Any]) -> None:
    assert parse_webhook_event(body) is None


def test_rename_reports_the_new_location() -> None:
    body = _with(SMALL_CREATE, event_type="rename", key="/buckets/inbox/tmp/small.txt")
    event = parse_webhook_event(body)
    assert event is not None
    assert (event.bucket, event.key, event.event_type) == ("inbox", "folder/small.txt", "rename")


def test_etag_fallbacks_follow_seaweedfs_rules() -> None:
    md5 = hashlib.md5(b"hello world").digest()
    b64 = base64.b64encode(md5).decode()
    assert entry_etag({"attributes": {"md5": b64}}) == md5.hex()
    assert entry_etag({"chunks": [{"e_tag": b64}]}) == md5.hex()
    assert entry_etag({"chunks": [{"e_tag": md5.hex()}]}) == md5.hex()
    two = hashlib.md5(md5 + md5).hexdigest()
    assert entry_etag({"chunks": [{"e_tag": b64}, {"e_tag": b64}]}) == f"{two}-2"
    assert entry_etag({}) == "d41d8cd98f00b204e9800998ecf8427e-0"
    assert entry_etag({"extended": {"Seaweed-X-Amz-ETag": _b64('"abc-3"')}}) == "abc-3"
