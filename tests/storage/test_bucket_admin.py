"""Whole-bucket operations of the S3 provider (used by /system/buckets), on a real SeaweedFS."""

from typing import Any

import httpx
import pytest

from sluice.errors import Conflict, NotFound
from sluice.storage.embedded import EmbeddedSeaweedFS
from sluice.storage.s3 import S3Provider, build_s3_client


@pytest.fixture(scope="module")
def store(seaweed: EmbeddedSeaweedFS) -> S3Provider:
    keys = seaweed.credentials
    return S3Provider(seaweed.endpoint, keys.access_key, keys.secret_key, verify=False)


@pytest.fixture(scope="module")
def raw(seaweed: EmbeddedSeaweedFS) -> Any:
    keys = seaweed.credentials
    return build_s3_client(seaweed.endpoint, keys.access_key, keys.secret_key)


def test_create_list_and_refuse_a_duplicate(store: S3Provider) -> None:
    store.create_bucket("admin-a")
    assert store.bucket_exists("admin-a")
    assert "admin-a" in store.list_buckets()
    with pytest.raises(Conflict, match="admin-a"):
        store.create_bucket("admin-a")
    assert not store.bucket_exists("admin-none")


def test_delete_empties_the_bucket_first(store: S3Provider, raw: Any) -> None:
    store.ensure_folder("admin-full/folder")
    for index in range(1005):  # more than one DeleteObjects batch
        raw.put_object(Bucket="admin-full", Key=f"k{index}", Body=b"x")
    store.delete_bucket("admin-full")
    assert not store.bucket_exists("admin-full")
    with pytest.raises(NotFound):
        store.delete_bucket("admin-full")


def test_pages_include_folder_markers(store: S3Provider, raw: Any) -> None:
    store.ensure_folder("admin-pages/dir")
    raw.put_object(Bucket="admin-pages", Key="dir/a", Body=b"aa")
    raw.put_object(Bucket="admin-pages", Key="dir/b", Body=b"")
    first = store.list_page("admin-pages", limit=2)
    assert [o.path for o in first.objects] == ["admin-pages/dir/", "admin-pages/dir/a"]
    assert first.truncated and first.next_token
    rest = store.list_page("admin-pages", first.next_token, limit=2)
    assert [o.path for o in rest.objects] == ["admin-pages/dir/b"]
    assert not rest.truncated and rest.next_token == ""
    assert store.count_objects("admin-pages") == 1


def test_presigned_urls_work_without_credentials(store: S3Provider) -> None:
    store.create_bucket("admin-share")
    put = store.presign("PUT", "admin-share/x.bin", 60)
    assert httpx.put(put, content=b"\x00\x01").status_code == 200
    get = store.presign("GET", "admin-share/x.bin", 60, content_type="application/x-test")
    response = httpx.get(get)
    assert response.content == b"\x00\x01"
    assert response.headers["content-type"] == "application/x-test"
