"""WebDAV storage (dCache, Nextcloud, any RFC 4918 server) on the webdav4 client."""

from __future__ import annotations

import os
import secrets
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from webdav4.client import (
    Client,
    ClientError,
    HTTPError,
    IsAResourceError,
    ResourceAlreadyExists,
    ResourceNotFound,
)

from sluice.errors import Invalid, NotFound, StorageError
from sluice.storage.base import ObjectInfo, clean_etag, split_object_path, split_path

# Uploads land under this hidden name first and are then moved over the target.
_UPLOAD_MARK = ".sluice-upload-"
_TIMEOUT_S = 60.0
_CHUNK_BYTES = 1024 * 1024


def webdav_base_url(hostname: str) -> str:
    """OSCAR writes WebDAV hosts without a scheme and means https; http:// must be explicit."""
    url = hostname.strip().rstrip("/")
    if "://" not in url:
        url = f"https://{url}"
    if not url.startswith(("https://", "http://")) or url.endswith("://"):
        raise Invalid(f"WebDAV hostname {hostname!r} must be a host name or an http(s) URL")
    return url


class WebDAVProvider:
    """A :class:`~sluice.storage.base.StorageProvider` for one WebDAV server and login."""

    def __init__(self, hostname: str, login: str, password: str, verify: bool = True) -> None:
        self._base_url = webdav_base_url(hostname)
        self._client = Client(
            self._base_url, auth=(login, password), verify=verify, timeout=_TIMEOUT_S
        )

    @property
    def base_url(self) -> str:
        return self._base_url

    def ensure_folder(self, path: str) -> None:
        bucket, key = split_path(path)
        with self._errors("create folder", path):
            self._make_dirs(_join(bucket, key))

    def upload_file(self, local: Path, path: str) -> None:
        bucket, key = split_object_path(path)
        if not local.is_file():
            raise NotFound(f"cannot upload {local}: no such local file")
        target = _join(bucket, key)
        parent = target.rpartition("/")[0]
        staging = f"{parent}/{_UPLOAD_MARK}{secrets.token_hex(8)}"
        with self._errors("upload", path):
            self._make_dirs(parent)
            try:
                self._client.upload_file(local, _url_path(staging), overwrite=True)
                self._client.move(_url_path(staging), _url_path(target), overwrite=True)
            except BaseException:
                with suppress(ClientError, httpx.HTTPError):
                    self._client.remove(_url_path(staging))
                raise

    def download_file(self, path: str, local: Path) -> None:
        bucket, key = split_object_path(path)
        partial = local.with_name(f".{local.name}.{secrets.token_hex(4)}.part")
        try:
            with self._errors("download", path):
                local.parent.mkdir(parents=True, exist_ok=True)
                self._fetch(_join(bucket, key), partial)
                os.replace(partial, local)
        finally:
            partial.unlink(missing_ok=True)

    def list_objects(self, path: str) -> Iterator[ObjectInfo]:
        bucket, key = split_path(path)
        pending = deque([_join(bucket, key)])
        while pending:
            folder = pending.popleft()
            for entry in self._list_folder(folder, path):
                name = str(entry["name"]).strip("/")
                if entry.get("type") == "directory":
                    pending.append(name)
                elif not name.rpartition("/")[2].startswith(_UPLOAD_MARK):
                    yield _object_info(name, entry)

    def delete(self, path: str) -> None:
        bucket, key = split_object_path(path)
        with self._errors("delete", path), suppress(ResourceNotFound):
            self._client.remove(_url_path(_join(bucket, key)))

    def _list_folder(self, folder: str, path: str) -> list[dict[str, Any]]:
        with self._errors("list", path):
            try:
                entries = self._client.ls(
                    _url_path(folder), detail=True, allow_listing_resource=False
                )
            except (ResourceNotFound, IsAResourceError):
                return []
        return [entry for entry in entries if isinstance(entry, dict)]

    def _make_dirs(self, folder: str) -> None:
        # Walk up to the deepest existing folder first: servers may refuse MKCOL on the
        # shared top levels even where the user may write below them.
        parts = folder.split("/")
        depth = len(parts)
        while depth > 0 and not self._is_dir("/".join(parts[:depth])):
            depth -= 1
        for missing in range(depth + 1, len(parts) + 1):
            with suppress(ResourceAlreadyExists):
                self._client.mkdir(_url_path("/".join(parts[:missing])))

    def _is_dir(self, folder: str) -> bool:
        # Not Client.isdir: it looks its answer up by the escaped path and misses.
        try:
            result = self._client.propfind(_url_path(folder), headers={"Depth": "0"})
        except ResourceNotFound:
            return False
        return any(response.properties.collection for response in result.responses.values())

    def _fetch(self, remote: str, local: Path) -> None:
        url = self._client.join_url(_url_path(remote))
        with self._client.http.stream("GET", url) as response:
            if response.status_code == HTTPStatus.NOT_FOUND:
                raise ResourceNotFound(remote)
            if response.status_code >= HTTPStatus.BAD_REQUEST:
                raise HTTPError(response)
            with local.open("wb") as handle:
                for chunk in response.iter_bytes(_CHUNK_BYTES):
                    handle.write(chunk)

    @contextmanager
    def _errors(self, action: str, path: str) -> Iterator[None]:
        where = f"{path!r} on {self._base_url}"
        try:
            yield
        except ResourceNotFound as exc:
            raise NotFound(f"{where} does not exist") from exc
        except HTTPError as exc:
            raise StorageError(f"could not {action} {where}: {_http_detail(exc)}") from exc
        except (ClientError, httpx.HTTPError, OSError) as exc:
            raise StorageError(f"could not {action} {where}: {exc}") from exc


def _url_path(path: str) -> str:
    # webdav4 hands paths to httpx unescaped, which rejects "#", "?" and friends in a path.
    # Listings come back decoded, so every path is kept plain and escaped only here.
    return quote(path, safe="/")


def _join(bucket: str, key: str) -> str:
    return f"{bucket}/{key}".strip("/")


def _http_detail(exc: HTTPError) -> str:
    if exc.status_code in {401, 403}:
        return f"access denied (HTTP {exc.status_code}); check the login and password"
    return str(exc)


def _object_info(name: str, entry: dict[str, Any]) -> ObjectInfo:
    return ObjectInfo(
        path=name,
        size=int(entry.get("content_length") or 0),
        etag=clean_etag(entry.get("etag")),
        last_modified=_utc(entry.get("modified")),
    )


def _utc(value: Any) -> datetime:
    if not isinstance(value, datetime):
        return datetime.fromtimestamp(0, UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
