"""Bucket use-cases behind ``/system/buckets``: list, inspect, create, change, delete, presign.

A bucket Sluice manages is one it created (through this API or for a service's paths), one a
service uses now, or any bucket of the embedded store (Sluice owns that store). Other buckets
of an external store are left alone: asking for them is Forbidden. A bucket that holds a
service's input or output is protected: it cannot be changed or deleted while the service
uses it (OSCAR refuses changes to service buckets the same way).
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sluice.domain.bucket import BucketRequest, PresignRequest
from sluice.domain.parts import DEFAULT_PROVIDER
from sluice.domain.service import Service
from sluice.domain.wire import parse_wire
from sluice.errors import Conflict, Forbidden, Invalid, NotFound
from sluice.state.buckets import BucketStore, StoredBucket
from sluice.storage.base import BucketAdmin, ObjectPage

PAGE_SIZE = 70  # OSCAR pages bucket listings by its JOB_LISTING_LIMIT
# What S3 clients accept as a bucket name at all (legacy buckets included).
_ANY_BUCKET_NAME = re.compile(r"[a-zA-Z0-9.\-_]{1,255}")
MAX_PAGE_SIZE = 1000


class ObjectStore(BucketAdmin, Protocol):
    def ensure_folder(self, path: str) -> None: ...


@dataclass(frozen=True)
class BucketView:
    name: str
    visibility: str
    allowed_users: list[str]
    owner: str
    metadata: dict[str, str]  # OSCAR's tags but the owner: owner_name, from_service, yours


@dataclass(frozen=True)
class BucketContents:
    bucket: BucketView
    page: ObjectPage


@dataclass(frozen=True)
class PresignedUrl:
    object_key: str
    operation: str
    method: str
    url: str
    expires_at: datetime
    headers: dict[str, str]


@dataclass(frozen=True)
class StoreCounts:
    buckets: int
    objects: int


class BucketManager:
    def __init__(
        self,
        store: ObjectStore,
        catalog: BucketStore,
        services: Callable[[], Sequence[Service]],
        owner: str,
        *,
        whole_store: bool,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._services = services
        self._owner = owner
        self._whole_store = whole_store

    def list(self) -> list[BucketView]:
        stored, used = self._catalog.all(), service_buckets(self._services())
        names = self._store.list_buckets()
        return [
            self._view(name, stored.get(name), used.get(name))
            for name in names
            if self._whole_store or name in stored or name in used
        ]

    def contents(self, name: str, page: str = "", limit: int = PAGE_SIZE) -> BucketContents:
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise Invalid(f"limit {limit} is out of range; use 1 to {MAX_PAGE_SIZE}")
        view = self._known(name)
        return BucketContents(view, self._store.list_page(name, page, limit))

    def create(self, payload: Any) -> BucketView:
        request = parse_wire(BucketRequest, payload, "bucket")
        if self._store.bucket_exists(request.bucket):
            raise Invalid(f"bucket {request.bucket!r} already exists")
        try:
            self._store.create_bucket(request.bucket)
        except Conflict as exc:  # created by someone else a moment ago
            raise Invalid(str(exc)) from None
        if request.folder:
            self._store.ensure_folder(request.bucket_name)
        record = StoredBucket(
            request.bucket,
            self._owner,
            request.visibility,
            request.allowed_users,
            request.metadata,
        )
        self._catalog.put(record)
        return self._view(record.name, record, None)

    def update(self, payload: Any) -> BucketView:
        request = parse_wire(BucketRequest, payload, "bucket")
        self._known(request.bucket)
        self._refuse_service_bucket(request.bucket, "changed")
        record = self._catalog.get(request.bucket) or self._record_for(request.bucket)
        changes = {
            field: getattr(request, field)
            for field in ("visibility", "allowed_users", "metadata")
            if field in request.model_fields_set
        }
        record = replace(record, **changes)
        self._catalog.put(record)
        return self._view(record.name, record, None)

    def delete(self, name: str) -> None:
        self._known(name)
        self._refuse_service_bucket(name, "deleted")
        self._store.delete_bucket(name)
        self._catalog.remove(name)

    def presign(self, name: str, payload: Any, now: datetime | None = None) -> PresignedUrl:
        request = parse_wire(PresignRequest, payload, "presign request")
        self._known(name)
        headers = {_canonical(key): value for key, value in request.extra_headers.items()}
        if request.operation == "upload" and request.content_type:
            headers["Content-Type"] = request.content_type
        url = self._store.presign(
            request.method,
            f"{name}/{request.object_key}",
            request.expires_in,
            request.content_type,
            {key: value for key, value in headers.items() if key != "Content-Type"},
        )
        expires_at = (now or datetime.now(UTC)) + timedelta(seconds=request.expires_in)
        return PresignedUrl(
            request.object_key, request.operation, request.method, url, expires_at, headers
        )

    def counts(self) -> StoreCounts:
        """Buckets Sluice manages and the objects with content in them (for /system/status)."""
        views = self.list()
        return StoreCounts(len(views), sum(self._store.count_objects(v.name) for v in views))

    def on_service_change(self, old: Service | None, new: Service | None) -> None:
        """Remember the buckets a service was given, so they stay managed after it goes."""
        if new is None:
            return
        stored = self._catalog.all()
        for name in service_buckets([new]):
            if name not in stored:
                self._catalog.put(StoredBucket(name, self._owner, new.visibility))

    def _known(self, name: str) -> BucketView:
        # A name no S3 store takes would make the client raise, not answer "no such bucket".
        if not _ANY_BUCKET_NAME.fullmatch(name) or not self._store.bucket_exists(name):
            raise NotFound(f"bucket {name!r} not found")
        stored = self._catalog.get(name)
        used_by = service_buckets(self._services()).get(name)
        if not (self._whole_store or stored or used_by):
            raise Forbidden(
                f"bucket {name!r} was not created through Sluice and no service uses it; "
                "Sluice does not manage it"
            )
        return self._view(name, stored, used_by)

    def _refuse_service_bucket(self, name: str, what: str) -> None:
        used_by = service_buckets(self._services()).get(name)
        if used_by is not None:
            raise Forbidden(
                f"bucket {name!r} holds the input or output of service {used_by.name!r} and "
                f"cannot be {what} while the service uses it"
            )

    def _record_for(self, name: str) -> StoredBucket:
        return StoredBucket(name, self._owner, "private")

    def _view(self, name: str, stored: StoredBucket | None, used_by: Service | None) -> BucketView:
        record = stored or self._record_for(name)
        visibility = used_by.visibility if used_by else record.visibility
        allowed = used_by.allowed_users if used_by else record.allowed_users
        metadata = {"owner_name": record.owner, **record.metadata}
        if used_by is not None:
            metadata["from_service"] = used_by.name
        return BucketView(name, visibility, list(allowed), record.owner, metadata)


def service_buckets(services: Sequence[Service]) -> dict[str, Service]:
    """Bucket of Sluice's own store → the first service (by name) whose paths are in it."""
    used: dict[str, Service] = {}
    for service in sorted(services, key=lambda s: s.name):
        paths = [*service.input, *service.output]
        for path in paths:
            if path.storage_provider == DEFAULT_PROVIDER:
                used.setdefault(path.bucket, service)
        mount = service.mount
        if mount.path and mount.storage_provider in ("minio", DEFAULT_PROVIDER):
            used.setdefault(mount.path.strip("/").split("/", 1)[0], service)
    return used


def _canonical(header: str) -> str:
    """``x-amz-meta-who`` → ``X-Amz-Meta-Who``, as Go's http.CanonicalHeaderKey writes it."""
    return "-".join(part.capitalize() for part in header.strip().split("-"))
