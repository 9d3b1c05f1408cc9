"""Files straight to the object store that ``GET /system/config`` advertises (boto3, path-style).

This is how OSCAR clients move files: the manager API only says where the store is. Every
failure is raised as ``ClientError``. boto3 is imported on first use, so that importing this
module (and starting the CLI) stays quick.
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sluice.client._errors import ClientError

if TYPE_CHECKING:
    import botocore.exceptions
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from mypy_boto3_s3 import S3Client

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes moved since the last call (from transfer threads)."""

MiB = 1024 * 1024
MULTIPART_THRESHOLD = 8 * MiB
_NOT_FOUND = {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}


@dataclass(frozen=True)
class ObjectPath:
    """An OSCAR storage path: ``bucket`` then a key, which is a folder when empty or ``…/``."""

    bucket: str
    key: str = ""

    @classmethod
    def parse(cls, text: str) -> "ObjectPath":
        """``bucket/key…`` (a leading ``/`` is ignored); ValueError without a bucket."""
        bucket, _, key = text.lstrip("/").partition("/")
        if not bucket:
            raise ValueError(f"'{text}' is not a storage path: expected BUCKET/KEY")
        return cls(bucket, key)

    @property
    def is_folder(self) -> bool:
        return not self.key or self.key.endswith("/")

    @property
    def prefix(self) -> str:
        """The listing prefix of this path taken as a folder: ``folder/``, or "" for a bucket."""
        folder = self.key.rstrip("/")
        return f"{folder}/" if folder else ""

    @property
    def name(self) -> str:
        """The last segment of the key."""
        return self.key.rstrip("/").rsplit("/", 1)[-1]

    def child(self, name: str) -> "ObjectPath":
        """``name`` inside this path taken as a folder."""
        return ObjectPath(self.bucket, self.prefix + name)

    def __str__(self) -> str:
        return f"{self.bucket}/{self.key}" if self.key else self.bucket


@dataclass(frozen=True)
class ObjectInfo:
    path: ObjectPath
    size: int
    last_modified: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.path.bucket,
            "key": self.path.key,
            "size": self.size,
            "last_modified": self.last_modified.isoformat(),
        }


class ObjectStore:
    """One S3 endpoint, used the way oscar-cli and oscar-python use OSCAR's MinIO."""

    def __init__(self, s3: "S3Client", endpoint: str = "") -> None:
        self._s3 = s3
        self.endpoint = endpoint

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "ObjectStore":
        """From the answer of ``GET /system/config`` (its ``minio_provider``)."""
        provider = config.get("minio_provider")
        if not isinstance(provider, Mapping):
            raise ClientError("the cluster's configuration has no minio_provider object store")
        return cls.from_provider(provider)

    @classmethod
    def from_provider(cls, provider: Mapping[str, Any]) -> "ObjectStore":
        """From a MinIO provider: ``endpoint``, ``access_key``, ``secret_key``, ``region``,
        ``verify``."""
        endpoint = provider.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            raise ClientError("the cluster's object store has no endpoint")
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=str(provider.get("access_key") or ""),
            aws_secret_access_key=str(provider.get("secret_key") or ""),
            region_name=str(provider.get("region") or "us-east-1"),
            verify=provider.get("verify") is not False,
            config=_botocore_config(),
        )
        return cls(s3, endpoint)

    def upload(self, local: Path, to: ObjectPath, progress: ProgressCallback | None = None) -> None:
        """Upload a file (multipart when large); ``progress`` gets the bytes sent."""
        with self._errors("upload to", to):
            self._s3.upload_file(
                str(local), to.bucket, to.key, Config=_transfer(), Callback=progress
            )

    def download(
        self, source: ObjectPath, local: Path, progress: ProgressCallback | None = None
    ) -> None:
        """Download an object into ``local`` (written whole or not at all)."""
        with self._errors("download of", source):
            self._s3.download_file(
                source.bucket, source.key, str(local), Config=_transfer(), Callback=progress
            )

    def head(self, path: ObjectPath) -> ObjectInfo:
        with self._errors("lookup of", path):
            meta = self._s3.head_object(Bucket=path.bucket, Key=path.key)
        return ObjectInfo(path, meta["ContentLength"], meta["LastModified"])

    def list_objects(self, folder: ObjectPath) -> list[ObjectInfo]:
        """The objects under ``folder`` (all pages of ListObjects), folder markers left out."""
        found: list[ObjectInfo] = []
        paginator = self._s3.get_paginator("list_objects")
        with self._errors("listing of", folder):
            for page in paginator.paginate(Bucket=folder.bucket, Prefix=folder.prefix):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if not key.endswith("/"):
                        path = ObjectPath(folder.bucket, key)
                        found.append(ObjectInfo(path, item["Size"], item["LastModified"]))
        return found

    def latest(self, folder: ObjectPath) -> ObjectInfo | None:
        """The most recently modified object under ``folder``, if any."""
        return max(self.list_objects(folder), key=lambda o: o.last_modified, default=None)

    def delete(self, path: ObjectPath) -> None:
        with self._errors("delete of", path):
            self._s3.delete_object(Bucket=path.bucket, Key=path.key)

    @contextmanager
    def _errors(self, action: str, path: ObjectPath) -> Iterator[None]:
        import botocore.exceptions
        from boto3.exceptions import S3UploadFailedError

        try:
            yield
        except botocore.exceptions.ClientError as exc:
            raise _from_s3(action, path, exc) from exc
        except S3UploadFailedError as exc:
            cause = exc.__context__  # boto3 wraps the S3 error without chaining it
            if isinstance(cause, botocore.exceptions.ClientError):
                raise _from_s3(action, path, cause) from exc
            raise ClientError(f"{action} {path} failed: {exc}") from exc
        except botocore.exceptions.EndpointConnectionError as exc:
            raise ClientError(f"cannot reach the object store at {self.endpoint}") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise ClientError(f"{action} {path} failed: {exc}") from exc


@cache
def _transfer() -> "TransferConfig":
    """boto3's managed transfers: one PUT below the threshold, parallel multipart above it."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD
    )


def _botocore_config() -> "Config":
    from botocore.config import Config

    return Config(
        s3={"addressing_style": "path"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        # Checksums only where S3 requires them: other S3 servers need not know CRC trailers.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def _from_s3(action: str, path: ObjectPath, exc: "botocore.exceptions.ClientError") -> ClientError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in _NOT_FOUND:
        what = "bucket" if code == "NoSuchBucket" else "object"
        target = path.bucket if code == "NoSuchBucket" else str(path)
        return ClientError(f"{target}: no such {what}", status_code=404, detail=code)
    message = str(error.get("Message") or code or exc)
    return ClientError(f"{action} {path} failed: {message}", status_code=status, detail=code)
