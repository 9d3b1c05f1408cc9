"""Which storage provider a service's path lives in, and creating its folders before it is saved."""

import threading
from pathlib import Path
from typing import Protocol

from sluice.domain.parts import DEFAULT_PROVIDER, MinIOProvider
from sluice.domain.service import Service
from sluice.errors import Invalid
from sluice.storage.base import StorageProvider
from sluice.storage.registry import open_provider


class UploadHook(Protocol):
    """Takes over output uploads: records where each went, and may keep one for later when the
    store belongs to a cluster that cannot be reached now (store-and-forward)."""

    def upload(
        self,
        service: Service,
        name: str,
        provider: StorageProvider,
        local: Path,
        path: str,
        job_id: str,
    ) -> None: ...


class StorageResolver:
    """Opens providers by their FDL name: ``minio.default`` is Sluice's own object store."""

    def __init__(self, object_store: MinIOProvider, default: StorageProvider | None = None) -> None:
        """``object_store`` describes Sluice's own store; ``default`` is a provider for it
        (opened from ``object_store`` on first use when not given)."""
        self.object_store = object_store
        self._default = default
        self._lock = threading.Lock()
        self.hook: UploadHook | None = None

    @property
    def default(self) -> StorageProvider:
        with self._lock:
            if self._default is None:
                self._default = open_provider("minio", self.object_store.model_dump())
            return self._default

    def open(self, service: Service, provider: str) -> StorageProvider:
        if provider == DEFAULT_PROVIDER:
            return self.default
        kind, _, ident = provider.partition(".")
        config = service.storage_providers.get(kind, ident)
        if config is None:
            raise Invalid(
                f"storage provider {provider!r} is not defined in storage_providers.{kind}"
            )
        values = config if isinstance(config, dict) else config.model_dump()
        return open_provider(kind, values)

    def upload(
        self,
        service: Service,
        name: str,
        provider: StorageProvider,
        local: Path,
        path: str,
        job_id: str = "",
    ) -> None:
        """A job's output file to ``path`` of ``provider`` (opened for ``name``), through the
        hook when there is one."""
        if self.hook is not None:
            self.hook.upload(service, name, provider, local, path, job_id)
        else:
            provider.upload_file(local, path)

    def prepare(self, service: Service) -> None:
        """Create every input and output bucket and folder that is missing."""
        for item in (*service.input, *service.output):
            self.open(service, item.storage_provider).ensure_folder(item.path)
