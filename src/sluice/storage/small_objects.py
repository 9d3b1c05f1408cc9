"""Whole-object GETs and PUTs on obstore (Rust's object_store): the per-job hot path.

Every file job downloads one input and uploads its outputs, mostly small objects. boto3
spends 1.6 to 2 ms of Python CPU on each such call; obstore does the signing and HTTP in Rust
for a fraction of it (bench/s3_clients.py measures both against one SeaweedFS). boto3 stays
for everything else: multipart and ranged transfers, listings, buckets, presigning.
"""

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import obstore
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import S3Store

from sluice.errors import NotFound, StorageError

_CODE = re.compile(r"<Code>([^<]{1,200})</Code>")
_MESSAGE = re.compile(r"<Message>([^<]{1,500})</Message>")


class SmallObjects:
    """GET and PUT of whole objects in any bucket of one S3 endpoint (path-style)."""

    def __init__(
        self,
        endpoint: str | None,
        access_key: str,
        secret_key: str,
        region: str,
        verify: bool,
        where: str,
        *,
        connect_timeout: float = 10.0,
        timeout: float = 60.0,
    ) -> None:
        self._config: dict[str, Any] = {
            "access_key_id": access_key,
            "secret_access_key": secret_key,
            "region": region,
            "virtual_hosted_style_request": False,
        }
        if endpoint:
            self._config["endpoint"] = endpoint
        self._client_options: dict[str, Any] = {
            "allow_http": True,
            "allow_invalid_certificates": not verify,
            "connect_timeout": f"{connect_timeout:g}s",
            "timeout": f"{timeout:g}s",
        }
        self._retry: dict[str, Any] = {
            "max_retries": 2,
            "retry_timeout": timedelta(seconds=timeout),
        }
        self._where = where
        self._stores: dict[str, S3Store] = {}
        self._lock = threading.Lock()

    def get(self, bucket: str, key: str, local: Path, largest: int) -> bool:
        """Write the object to ``local`` (through a temporary name) and return True, or
        return False, writing nothing, when it is ``largest`` bytes or more."""
        with self._errors("download", f"{bucket}/{key}"):
            result = obstore.get(self._store(bucket), key)
            if int(result.meta["size"]) >= largest:
                return False
            partial = local.with_name(f".{local.name}.part")
            with partial.open("wb") as handle:
                for chunk in result:
                    handle.write(chunk)
            partial.replace(local)
            return True

    def put(self, bucket: str, key: str, data: bytes) -> None:
        with self._errors("upload", f"{bucket}/{key}"):
            obstore.put(self._store(bucket), key, data)

    def _store(self, bucket: str) -> S3Store:
        with self._lock:
            store = self._stores.get(bucket)
            if store is None:
                store = S3Store(
                    bucket,
                    config=self._config,  # type: ignore[arg-type]
                    client_options=self._client_options,  # type: ignore[arg-type]
                    retry_config=self._retry,  # type: ignore[arg-type]
                )
                self._stores[bucket] = store
            return store

    @contextmanager
    def _errors(self, action: str, path: str) -> Iterator[None]:
        try:
            yield
        except (NotFoundError, FileNotFoundError) as exc:
            raise NotFound(f"{path!r} does not exist in {self._where}") from exc
        except (BaseError, OSError) as exc:
            raise StorageError(
                f"could not {action} {path!r} in {self._where}: {_detail(exc)}"
            ) from exc


def _detail(exc: Exception) -> str:
    """The store's own error code and message when it sent them (S3's XML error body), as
    boto3 reports them; otherwise the first line (obstore goes on with a debug dump)."""
    text = str(exc)
    code, message = _CODE.search(text), _MESSAGE.search(text)
    if code is not None:
        return f"{code[1]}: {message[1]}" if message is not None else code[1]
    text = text.strip()
    return text.splitlines()[0] if text else type(exc).__name__
