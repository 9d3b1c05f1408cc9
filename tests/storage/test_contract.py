"""One contract, every provider: S3Provider on SeaweedFS and WebDAVProvider on WsgiDAV."""

import hashlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import pytest

from sluice.errors import Invalid, NotFound, StorageError
from sluice.storage import ObjectInfo, StorageProvider
from sluice.storage.embedded import EmbeddedSeaweedFS
from sluice.storage.s3 import S3Provider, build_s3_client
from sluice.storage.webdav import WebDAVProvider
from tests.servers import DavServer

UNICODE_KEY = "dir with space/ünïcødé 文件 #1.bin"


@dataclass(frozen=True)
class Backend:
    name: str
    provider: StorageProvider
    # Creates a bucket behind the provider's back, as another user or service would.
    create_bucket_elsewhere: Callable[[str], None]
    with_wrong_password: StorageProvider


def _s3_backend(store: EmbeddedSeaweedFS) -> Backend:
    creds = store.credentials
    other = build_s3_client(store.endpoint, creds.access_key, creds.secret_key)

    def create_bucket_elsewhere(bucket: str) -> None:
        other.create_bucket(Bucket=bucket)

    return Backend(
        name="s3",
        provider=S3Provider(store.endpoint, creds.access_key, creds.secret_key),
        create_bucket_elsewhere=create_bucket_elsewhere,
        with_wrong_password=S3Provider(store.endpoint, creds.access_key, "not-the-secret"),
    )


def _dav_backend(server: DavServer) -> Backend:
    return Backend(
        name="webdav",
        provider=WebDAVProvider(server.url, server.login, server.password),
        create_bucket_elsewhere=lambda bucket: (server.root / bucket).mkdir(),
        with_wrong_password=WebDAVProvider(server.url, server.login, "not-the-password"),
    )


@pytest.fixture(params=["s3", "webdav"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "s3":
        return _s3_backend(request.getfixturevalue("seaweed"))
    return _dav_backend(request.getfixturevalue("dav_server"))


@pytest.fixture
def bucket() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _listing(provider: StorageProvider, path: str) -> dict[str, ObjectInfo]:
    return {info.path: info for info in provider.list_objects(path)}


def test_ensure_folder_is_idempotent(backend: Backend, bucket: str, tmp_path: Path) -> None:
    backend.provider.ensure_folder(f"{bucket}/input")
    backend.provider.ensure_folder(f"{bucket}/input")
    backend.provider.ensure_folder(f"/{bucket}/input/")

    assert _listing(backend.provider, bucket) == {}, "a folder marker is not an object"
    backend.provider.upload_file(_write(tmp_path / "a.txt", b"a"), f"{bucket}/input/a.txt")
    assert set(_listing(backend.provider, f"{bucket}/input")) == {f"{bucket}/input/a.txt"}


def test_ensure_folder_accepts_a_bucket_created_elsewhere(backend: Backend, bucket: str) -> None:
    backend.create_bucket_elsewhere(bucket)

    backend.provider.ensure_folder(bucket)
    backend.provider.ensure_folder(f"{bucket}/deep/nested/folder")
    backend.provider.ensure_folder(f"{bucket}/deep/other")

    assert list(backend.provider.list_objects(bucket)) == []


@pytest.mark.parametrize("key", ["data.bin", "a/b/c/data.bin", UNICODE_KEY])
def test_upload_download_roundtrip(backend: Backend, bucket: str, key: str, tmp_path: Path) -> None:
    content = bytes(range(256)) * 64 + os.urandom(4096) + b"\x00\r\n"
    backend.provider.ensure_folder(bucket)
    backend.provider.upload_file(_write(tmp_path / "in.bin", content), f"{bucket}/{key}")

    target = tmp_path / "out" / "not" / "yet" / "there.bin"
    backend.provider.download_file(f"{bucket}/{key}", target)

    assert target.read_bytes() == content
    assert list(target.parent.iterdir()) == [target], "no partial download is left behind"


def test_upload_creates_missing_parents_and_overwrites(
    backend: Backend, bucket: str, tmp_path: Path
) -> None:
    backend.provider.ensure_folder(bucket)
    path = f"{bucket}/new/parents/file.txt"
    backend.provider.upload_file(_write(tmp_path / "v1", b"first version"), path)
    backend.provider.upload_file(_write(tmp_path / "v2", b"second, longer version"), path)

    backend.provider.download_file(path, tmp_path / "got")

    assert (tmp_path / "got").read_bytes() == b"second, longer version"
    assert set(_listing(backend.provider, bucket)) == {path}, "no staging copies remain"


def test_list_objects_is_recursive_and_scoped(
    backend: Backend, bucket: str, tmp_path: Path
) -> None:
    files = {
        f"{bucket}/in/top.txt": b"top",
        f"{bucket}/in/sub/deeper/leaf.bin": os.urandom(1000),
        f"{bucket}/in/{UNICODE_KEY}": b"unicode",
        f"{bucket}/input-sibling/not-mine.txt": b"outside",
        f"{bucket}/out/other.txt": b"outside",
    }
    backend.provider.ensure_folder(f"{bucket}/in/empty-folder")
    for index, (path, data) in enumerate(files.items()):
        backend.provider.upload_file(_write(tmp_path / str(index), data), path)

    listed = _listing(backend.provider, f"{bucket}/in")

    assert set(listed) == {path for path in files if path.startswith(f"{bucket}/in/")}
    for path, info in listed.items():
        assert info.size == len(files[path])
        assert info.etag
        assert '"' not in info.etag
        assert info.last_modified.tzinfo is not None
        assert info.last_modified.utcoffset() == UTC.utcoffset(None)
    assert len(_listing(backend.provider, bucket)) == len(files)


def test_list_objects_of_missing_bucket_or_folder_is_empty(backend: Backend, bucket: str) -> None:
    assert list(backend.provider.list_objects(bucket)) == []
    backend.provider.ensure_folder(bucket)
    assert list(backend.provider.list_objects(f"{bucket}/no/such/folder")) == []


def test_delete(backend: Backend, bucket: str, tmp_path: Path) -> None:
    backend.provider.ensure_folder(bucket)
    backend.provider.upload_file(_write(tmp_path / "f", b"bye"), f"{bucket}/f.txt")
    backend.provider.upload_file(_write(tmp_path / "g", b"stay"), f"{bucket}/g.txt")

    backend.provider.delete(f"{bucket}/f.txt")
    backend.provider.delete(f"{bucket}/f.txt")
    backend.provider.delete(f"{bucket}missing/f.txt")

    assert set(_listing(backend.provider, bucket)) == {f"{bucket}/g.txt"}
    with pytest.raises(NotFound):
        backend.provider.download_file(f"{bucket}/f.txt", tmp_path / "f.back")


def test_download_of_missing_object_is_not_found(
    backend: Backend, bucket: str, tmp_path: Path
) -> None:
    backend.provider.ensure_folder(bucket)
    target = tmp_path / "never.bin"

    with pytest.raises(NotFound, match="does not exist"):
        backend.provider.download_file(f"{bucket}/no/such/object.bin", target)
    with pytest.raises(NotFound):
        backend.provider.download_file(f"{bucket}missing/object.bin", target)

    assert list(tmp_path.iterdir()) == []


def test_object_paths_are_validated(backend: Backend, tmp_path: Path) -> None:
    local = _write(tmp_path / "x", b"x")
    with pytest.raises(Invalid):
        backend.provider.upload_file(local, "only-a-bucket")
    with pytest.raises(Invalid):
        backend.provider.upload_file(local, "bucket/../escape")
    with pytest.raises(NotFound, match="no such local file"):
        backend.provider.upload_file(tmp_path / "missing", "bucket/key")


def test_wrong_password_is_a_storage_error(backend: Backend, bucket: str, tmp_path: Path) -> None:
    with pytest.raises(StorageError) as caught:
        backend.with_wrong_password.upload_file(_write(tmp_path / "x", b"x"), f"{bucket}/x")
    assert bucket in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_s3_etag_matches_head_and_md5(seaweed: EmbeddedSeaweedFS, tmp_path: Path) -> None:
    provider = _s3_backend(seaweed).provider
    assert isinstance(provider, S3Provider)
    data = b"etag check"
    provider.ensure_folder("etags")
    provider.upload_file(_write(tmp_path / "e", data), "etags/e.txt")

    (listed,) = provider.list_objects("etags")

    assert listed == provider.head("etags/e.txt")
    assert listed.etag == hashlib.md5(data).hexdigest()
    with pytest.raises(NotFound):
        provider.head("etags/missing.txt")


def test_webdav_uploads_leave_no_hidden_files(dav_server: DavServer, tmp_path: Path) -> None:
    provider = WebDAVProvider(dav_server.url, dav_server.login, dav_server.password)
    provider.upload_file(_write(tmp_path / "x", b"x" * 10_000), "clean/sub/x.bin")
    provider.upload_file(_write(tmp_path / "x", b"y" * 10), "clean/sub/x.bin")

    on_disk = sorted(p.name for p in (dav_server.root / "clean").rglob("*"))

    assert on_disk == ["sub", "x.bin"]
    assert (dav_server.root / "clean" / "sub" / "x.bin").read_bytes() == b"y" * 10
