"""S3-compatible storage (AWS S3, MinIO, SeaweedFS) on boto3, path-style and SigV4."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from sluice.errors import Conflict, NotFound, StorageError
from sluice.storage.base import (
    ObjectInfo,
    ObjectPage,
    clean_etag,
    folder_prefix,
    split_object_path,
    split_path,
)
from sluice.storage.small_objects import SmallObjects

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

_MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
_BUCKET_EXISTS = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_DEFAULT_REGION = "us-east-1"
_MULTIPART_BYTES = 8 * 1024 * 1024
_SESSION: boto3.session.Session | None = None
_SESSION_LOCK = threading.Lock()


def build_s3_client(
    endpoint: str | None,
    access_key: str,
    secret_key: str,
    region: str = _DEFAULT_REGION,
    verify: bool = True,
    *,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
    max_attempts: int = 3,
) -> S3Client:
    """A boto3 S3 client that speaks to any S3-compatible server the same way."""
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        # As many connections as jobs may stage at once (boto3's 10 makes it drop and reopen
        # them under load: "connection pool is full").
        max_pool_connections=64,
        # Newer botocore adds CRC trailers by default, which older MinIO/Ceph releases reject.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    with _SESSION_LOCK:
        # One shared session: it caches the parsed service model, which makes every client
        # after the first ~20x cheaper (5 ms, not 100). Sessions are not thread-safe.
        global _SESSION
        if _SESSION is None:
            _SESSION = boto3.session.Session()
        return _SESSION.client(
            "s3",
            endpoint_url=endpoint or None,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region or _DEFAULT_REGION,
            verify=verify,
            config=config,
        )


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Provider:
    """A :class:`~sluice.storage.base.StorageProvider` for one S3 endpoint and key pair."""

    def __init__(
        self,
        endpoint: str | None,
        access_key: str,
        secret_key: str,
        region: str = _DEFAULT_REGION,
        verify: bool = True,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
    ) -> None:
        """Short timeouts and few ``max_attempts`` suit a store of another cluster, where an
        unreachable store should be noticed soon (store-and-forward): a cut link leaves a
        pooled connection that only the read timeout ends."""
        self._endpoint = endpoint
        self._region = region or _DEFAULT_REGION
        self._connection = (endpoint, access_key, secret_key, self._region, verify)
        self._client = build_s3_client(
            *self._connection,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_attempts=max_attempts,
        )
        self._small = SmallObjects(
            *self._connection, self.where, connect_timeout=connect_timeout, timeout=read_timeout
        )
        self._transfer = TransferConfig(
            multipart_threshold=_MULTIPART_BYTES, multipart_chunksize=_MULTIPART_BYTES
        )

    @property
    def where(self) -> str:
        return self._endpoint or f"AWS S3 ({self._region})"

    def ensure_folder(self, path: str) -> None:
        bucket, key = split_path(path)
        with self._errors("create folder", path):
            self._ensure_bucket(bucket)
            marker = folder_prefix(key)
            if marker and not self._exists(bucket, marker):
                self._client.put_object(Bucket=bucket, Key=marker, Body=b"")

    def upload_file(self, local: Path, path: str) -> None:
        bucket, key = split_object_path(path)
        if not local.is_file():
            raise NotFound(f"cannot upload {local}: no such local file")
        with self._errors("upload", path):
            if local.stat().st_size >= _MULTIPART_BYTES:
                self._client.upload_file(str(local), bucket, key, Config=self._transfer)
                return
            data = local.read_bytes()  # a read error is a StorageError too, as before obstore
        self._small.put(bucket, key, data)

    def download_file(self, path: str, local: Path) -> None:
        bucket, key = split_object_path(path)
        with self._errors("download", path):
            local.parent.mkdir(parents=True, exist_ok=True)
        if self._small.get(bucket, key, local, largest=_MULTIPART_BYTES):
            return
        with self._errors("download", path):
            # Ranged, parallel parts; boto3 writes a temporary name then renames it.
            self._client.download_file(bucket, key, str(local), Config=self._transfer)

    def list_objects(self, path: str) -> Iterator[ObjectInfo]:
        bucket, key = split_path(path)
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=folder_prefix(key)
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    if not item["Key"].endswith("/"):
                        yield _object_info(bucket, item)
        except ClientError as exc:
            if error_code(exc) == "NoSuchBucket":
                return
            raise self._storage_error("list", path, exc) from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise self._storage_error("list", path, exc) from exc

    def delete(self, path: str) -> None:
        bucket, key = split_object_path(path)
        try:
            self._client.delete_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) not in _MISSING:
                raise self._storage_error("delete", path, exc) from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise self._storage_error("delete", path, exc) from exc

    def head(self, path: str) -> ObjectInfo:
        """Size, ETag and modification time of one object; NotFound when it is missing."""
        bucket, key = split_object_path(path)
        with self._errors("inspect", path):
            meta = self._client.head_object(Bucket=bucket, Key=key)
        return ObjectInfo(
            path=f"{bucket}/{key}",
            size=int(meta.get("ContentLength", 0)),
            etag=clean_etag(meta.get("ETag")),
            last_modified=_utc(meta.get("LastModified")),
        )

    def list_buckets(self) -> list[str]:
        with self._errors("list buckets", "/"):
            response = self._client.list_buckets()
        return sorted(item["Name"] for item in response.get("Buckets", []) if "Name" in item)

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self._client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                return False
            raise self._storage_error("inspect bucket", bucket, exc) from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise self._storage_error("inspect bucket", bucket, exc) from exc
        return True

    def create_bucket(self, bucket: str) -> None:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if self._region != _DEFAULT_REGION:
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        try:
            self._client.create_bucket(**kwargs)
        except ClientError as exc:
            if error_code(exc) in _BUCKET_EXISTS:
                raise Conflict(f"bucket {bucket!r} already exists") from exc
            raise self._storage_error("create bucket", bucket, exc) from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise self._storage_error("create bucket", bucket, exc) from exc

    def delete_bucket(self, bucket: str) -> None:
        with self._errors("delete bucket", bucket):
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for page in pages:
                contents = page.get("Contents", [])
                if contents:
                    self._client.delete_objects(
                        Bucket=bucket, Delete={"Objects": [{"Key": i["Key"]} for i in contents]}
                    )
            self._client.delete_bucket(Bucket=bucket)

    def list_page(self, bucket: str, token: str = "", limit: int = 1000) -> ObjectPage:
        kwargs: dict[str, Any] = {"Bucket": bucket, "MaxKeys": limit}
        if token:
            kwargs["ContinuationToken"] = token
        with self._errors("list", bucket):
            page = self._client.list_objects_v2(**kwargs)
        objects = [_object_info(bucket, item) for item in page.get("Contents", [])]
        truncated = bool(page.get("IsTruncated"))
        return ObjectPage(objects, str(page.get("NextContinuationToken") or ""), truncated)

    def count_objects(self, bucket: str) -> int:
        return sum(1 for item in self.list_objects(bucket) if item.size > 0)

    def presign(
        self,
        method: str,
        path: str,
        expires_in: int,
        content_type: str = "",
        headers: dict[str, str] | None = None,
    ) -> str:
        bucket, key = split_object_path(path)
        upload = method.upper() == "PUT"
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if content_type:
            params["ContentType" if upload else "ResponseContentType"] = content_type
        client = self._client
        if headers:
            # Signed headers the holder of the URL must send; a client of its own, because
            # the hook that adds them is registered per client, not per call.
            client = build_s3_client(*self._connection)

            def sign_headers(request: Any, **_: Any) -> None:
                for name, value in headers.items():
                    request.headers[name] = value

            client.meta.events.register(
                f"before-sign.s3.{'PutObject' if upload else 'GetObject'}", sign_headers
            )
        operation = "put_object" if upload else "get_object"
        with self._errors("presign", path):
            return client.generate_presigned_url(operation, Params=params, ExpiresIn=expires_in)

    def _ensure_bucket(self, bucket: str) -> None:
        if self._bucket_exists(bucket):
            return
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if self._region != _DEFAULT_REGION:
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        try:
            self._client.create_bucket(**kwargs)
        except ClientError as exc:
            if error_code(exc) not in _BUCKET_EXISTS:
                raise

    def _bucket_exists(self, bucket: str) -> bool:
        # A 403 here may mean "exists but not ours"; create_bucket then tells us for sure.
        try:
            self._client.head_bucket(Bucket=bucket)
        except ClientError:
            return False
        return True

    def _exists(self, bucket: str, key: str) -> bool:
        try:
            self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                return False
            raise
        return True

    @contextmanager
    def _errors(self, action: str, path: str) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise NotFound(f"{path!r} does not exist in {self.where}") from exc
            raise self._storage_error(action, path, exc) from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise self._storage_error(action, path, exc) from exc
        except OSError as exc:
            raise StorageError(f"could not {action} {path!r}: {exc}") from exc

    def _storage_error(self, action: str, path: str, exc: Exception) -> StorageError:
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            detail = f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
        else:
            detail = str(exc)
        return StorageError(f"could not {action} {path!r} in {self.where}: {detail}")


def _object_info(bucket: str, item: Any) -> ObjectInfo:
    return ObjectInfo(
        path=f"{bucket}/{item['Key']}",
        size=int(item.get("Size", 0)),
        etag=clean_etag(item.get("ETag")),
        last_modified=_utc(item.get("LastModified")),
    )


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.fromtimestamp(0, UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
