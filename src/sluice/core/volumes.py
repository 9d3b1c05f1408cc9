"""Managed volumes (``/system/volumes`` and the service ``volume`` block).

A volume outlives jobs: a named folder under ``<data dir>/volumes`` on this machine (its size
recorded and reported but not enforced on the local disk), a PersistentVolumeClaim on
Kubernetes. Where it lives is a ``VolumePlace``; mounting it into a service's jobs is the
runtime's part.
"""

import builtins
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sluice.domain.service import Service
from sluice.domain.volume import VolumeRequest
from sluice.domain.wire import parse_wire
from sluice.errors import Conflict, Invalid, NotFound, StorageError
from sluice.state.volumes import StoredVolume, VolumeStore

log = logging.getLogger(__name__)

READY, IN_USE = "ready", "in_use"  # OSCAR's volume phases that apply here


@dataclass(frozen=True)
class Attachment:
    service_name: str
    mount_path: str


@dataclass(frozen=True)
class VolumeView:
    volume: StoredVolume
    namespace: str
    attachments: list[Attachment]

    @property
    def phase(self) -> str:
        return IN_USE if self.attachments else READY


class VolumePlace(Protocol):
    """Where volumes' contents live."""

    def make(self, name: str, size: str) -> None:
        """Make volume ``name``; raises ``StorageError`` when it cannot."""
        ...

    def remove(self, name: str) -> None:
        """Remove volume ``name`` with everything in it (nothing if it is not there)."""
        ...


class FolderVolumes:
    """Volumes as folders under ``root`` (this machine's runtimes bind-mount them)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def make(self, name: str, size: str) -> None:
        try:
            (self._root / name).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the folder of volume {name!r}: {exc}") from exc

    def remove(self, name: str) -> None:
        shutil.rmtree(self._root / name, ignore_errors=True)


class VolumeManager:
    def __init__(
        self,
        catalog: VolumeStore,
        place: VolumePlace,
        services: Callable[[], Sequence[Service]],
        *,
        owner: str,
        namespace: str,
    ) -> None:
        self._catalog = catalog
        self._place = place
        self._services = services
        self._owner = owner
        self._namespace = namespace

    def list(self) -> list[VolumeView]:
        services = self._services()
        return [self._view(volume, services) for volume in self._catalog.all()]

    def get(self, name: str) -> VolumeView:
        volume = self._catalog.get(name)
        if volume is None:
            raise NotFound(f"volume {name!r} not found")
        return self._view(volume, self._services())

    def create(self, payload: Any) -> VolumeView:
        request = parse_wire(VolumeRequest, payload, "volume")
        self._create(StoredVolume(request.name, request.size, self._owner, "api"))
        return self.get(request.name)

    def delete(self, name: str) -> None:
        """Delete a volume no service mounts, with everything in it."""
        view = self.get(name)
        if view.attachments:
            users = ", ".join(a.service_name for a in view.attachments)
            raise Invalid(f"volume {name!r} is mounted by service(s) {users}; delete those first")
        self._remove(name)

    def check(self, service: Service, before: Service | None) -> "builtins.list[str]":
        """Refuse a ``volume`` block that cannot be honoured, before anything is made."""
        volume = service.volume
        if before is not None:
            if before.volume != volume:
                raise Invalid("volume updates are not supported after service creation")
        elif volume is not None and volume.creates:
            if self._catalog.get(volume.name) is not None:
                raise Conflict(f"a managed volume named {volume.name!r} already exists")
        elif volume is not None and self._catalog.get(volume.name) is None:
            raise Invalid(
                f"volume {volume.name!r} does not exist; create it with POST /system/volumes "
                "or give volume.size to create it with the service"
            )
        return []

    def prepare(self, service: Service, before: Service | None) -> None:
        """Create the volume a new service asks for (``check`` has passed)."""
        volume = service.volume
        if before is not None or volume is None or not volume.creates:
            return
        self._create(
            StoredVolume(
                volume.name,
                volume.size,
                self._owner,
                "service",
                service.name,
                volume.lifecycle_policy,
            )
        )

    def on_service_change(self, old: Service | None, new: Service | None) -> None:
        """A deleted service takes the volume it created along, unless it is kept (``retain``)
        or another service still mounts it."""
        if old is None or new is not None or old.volume is None or not old.volume.creates:
            return
        if old.volume.lifecycle_policy != "delete":
            return
        name = old.volume.name
        users = [s.name for s in self._services() if s.volume and s.volume.name == name]
        if users:
            log.warning("kept volume %s: still mounted by %s", name, ", ".join(users))
            return
        self._remove(name)

    def status_of(self, service: Service) -> dict[str, Any]:
        """OSCAR's ``volume_status`` of a service."""
        if service.volume is None:
            return {"enabled": False}
        status: dict[str, Any] = {"enabled": True, "name": service.volume.name}
        stored = self._catalog.get(service.volume.name)
        if stored is None:
            status.update(phase="error", error=f"volume {service.volume.name!r} not found")
        else:
            status["phase"] = IN_USE
        return status

    def _create(self, volume: StoredVolume) -> None:
        self._catalog.add(volume)
        try:
            self._place.make(volume.name, volume.size)
        except Exception:
            self._catalog.remove(volume.name)
            raise
        log.info("created volume %s (%s)", volume.name, volume.size)

    def _remove(self, name: str) -> None:
        self._place.remove(name)
        self._catalog.remove(name)
        log.info("deleted volume %s", name)

    def _view(self, volume: StoredVolume, services: Sequence[Service]) -> VolumeView:
        attachments = [
            Attachment(s.name, s.volume.mount_path)
            for s in sorted(services, key=lambda s: s.name)
            if s.volume is not None and s.volume.name == volume.name
        ]
        return VolumeView(volume, self._namespace, attachments)
