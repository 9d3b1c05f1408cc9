"""``sluice.client.storage``: paths, configuration and error mapping (boto3 stubbed)."""

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from sluice.client import ClientError
from sluice.client.storage import ObjectPath, ObjectStore

PROVIDER = {
    "endpoint": "http://127.0.0.1:9",
    "verify": True,
    "access_key": "ak",
    "secret_key": "sk",
    "region": "us-east-1",
}
T1 = datetime(2024, 1, 1, tzinfo=UTC)
T2 = datetime(2024, 1, 2, tzinfo=UTC)


@pytest.fixture
def stubbed() -> Iterator[tuple[ObjectStore, Stubber]]:
    store = ObjectStore.from_config({"minio_provider": PROVIDER})
    with Stubber(store._s3) as stubber:
        yield store, stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("text", "bucket", "key", "folder"),
    [
        ("cowsay/in", "cowsay", "in", False),
        ("/cowsay/in/", "cowsay", "in/", True),
        ("cowsay", "cowsay", "", True),
        ("b/a/b/c.txt", "b", "a/b/c.txt", False),
    ],
)
def test_parse(text: str, bucket: str, key: str, folder: bool) -> None:
    path = ObjectPath.parse(text)
    assert (path.bucket, path.key, path.is_folder) == (bucket, key, folder)


@pytest.mark.parametrize("text", ["", "/", "///"])
def test_parse_needs_a_bucket(text: str) -> None:
    with pytest.raises(ValueError, match="BUCKET/KEY"):
        ObjectPath.parse(text)


def test_child_prefix_name_and_str() -> None:
    assert ObjectPath("b", "in").child("x.txt") == ObjectPath("b", "in/x.txt")
    assert ObjectPath("b", "in/").child("x.txt") == ObjectPath("b", "in/x.txt")
    assert ObjectPath("b").child("x.txt") == ObjectPath("b", "x.txt")
    assert ObjectPath("b", "in").prefix == "in/"
    assert ObjectPath("b").prefix == ""
    assert ObjectPath("b", "out/sub/y.png").name == "y.png"
    assert str(ObjectPath("b", "in/x")) == "b/in/x"
    assert str(ObjectPath("b")) == "b"


def test_from_config_builds_a_path_style_client() -> None:
    store = ObjectStore.from_config({"minio_provider": PROVIDER})
    assert store.endpoint == "http://127.0.0.1:9"
    s3: Any = store._s3
    assert s3.meta.config.s3 == {"addressing_style": "path"}
    assert s3.meta.region_name == "us-east-1"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "no minio_provider"),
        ({"minio_provider": None}, "no minio_provider"),
        ({"minio_provider": {**PROVIDER, "endpoint": ""}}, "has no endpoint"),
    ],
)
def test_from_config_rejects_incomplete_configs(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ClientError, match=message):
        ObjectStore.from_config(config)


def test_list_objects_pages_skips_markers(stubbed: tuple[ObjectStore, Stubber]) -> None:
    store, stubber = stubbed
    first = [{"Key": "out/", "Size": 0, "LastModified": T1}, _item("out/a", 3, T1)]
    stubber.add_response(
        "list_objects",
        {"Contents": first, "IsTruncated": True, "NextMarker": "out/a"},
        {"Bucket": "b", "Prefix": "out/"},
    )
    stubber.add_response(
        "list_objects",
        {"Contents": [_item("out/b", 5, T2)], "IsTruncated": False},
        {"Bucket": "b", "Prefix": "out/", "Marker": "out/a"},
    )
    latest = store.latest(ObjectPath("b", "out"))
    assert latest is not None
    assert (latest.path, latest.size) == (ObjectPath("b", "out/b"), 5)
    assert latest.as_dict() == {
        "bucket": "b",
        "key": "out/b",
        "size": 5,
        "last_modified": "2024-01-02T00:00:00+00:00",
    }


def test_latest_of_an_empty_folder(stubbed: tuple[ObjectStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_response("list_objects", {"IsTruncated": False}, {"Bucket": "b", "Prefix": ""})
    assert store.latest(ObjectPath("b")) is None


def test_head_of_a_missing_object(stubbed: tuple[ObjectStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_client_error("head_object", "404", "Not Found", 404)
    with pytest.raises(ClientError) as caught:
        store.head(ObjectPath("b", "k"))
    assert str(caught.value) == "b/k: no such object"
    assert caught.value.status_code == 404


def test_missing_bucket_and_other_errors(stubbed: tuple[ObjectStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_client_error("delete_object", "NoSuchBucket", "gone", 404)
    stubber.add_client_error("delete_object", "AccessDenied", "Access Denied.", 403)
    with pytest.raises(ClientError, match=r"^b: no such bucket$"):
        store.delete(ObjectPath("b", "k"))
    with pytest.raises(ClientError) as caught:
        store.delete(ObjectPath("b", "k"))
    assert str(caught.value) == "delete of b/k failed: Access Denied."
    assert (caught.value.status_code, caught.value.detail) == (403, "AccessDenied")


def test_unreachable_store() -> None:
    store = ObjectStore.from_provider(PROVIDER)
    with pytest.raises(ClientError, match=r"^cannot reach the object store at http://127"):
        store.head(ObjectPath("b", "k"))


def test_importing_storage_does_not_import_boto3() -> None:
    code = "import sys, sluice.client.storage; print('boto3' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def _item(key: str, size: int, when: datetime) -> dict[str, Any]:
    return {"Key": key, "Size": size, "LastModified": when}
