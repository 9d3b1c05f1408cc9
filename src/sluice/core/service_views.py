"""A service as OSCAR returns it: the stored definition plus what the runtime knows now."""

import json
import threading
from typing import Any

from sluice.core.deployments import DeploymentViews
from sluice.core.volumes import VolumeManager
from sluice.domain.parts import MinIOProvider
from sluice.domain.service import ServiceRecord, to_wire


class ServiceViews:
    def __init__(
        self,
        object_store: MinIOProvider,
        namespace: str,
        volumes: VolumeManager,
        deployments: DeploymentViews,
    ) -> None:
        self._object_store = object_store
        self._namespace = namespace
        self._volumes = volumes
        self._deployments = deployments
        self._encoded: dict[str, tuple[ServiceRecord, str]] = {}  # name → (version, JSON)
        self._lock = threading.Lock()

    def wire(self, record: ServiceRecord, include_deployment: bool = False) -> dict[str, Any]:
        service = record.service
        data = to_wire(service, self._object_store)
        data["namespace"] = self._namespace
        data["volume_status"] = self._volumes.status_of(service)
        if include_deployment:
            data["deployment"] = self._deployments.summary(service)
        return data

    def wire_json(self, record: ServiceRecord, include_deployment: bool = False) -> bytes:
        """``wire`` as JSON, for listings: the part that only changes with the definition is
        encoded once per version of it (thousands of services list in milliseconds)."""
        with self._lock:
            memo = self._encoded.get(record.service.name)
        if memo is None or memo[0] is not record:
            static = to_wire(record.service, self._object_store)
            static["namespace"] = self._namespace
            memo = (record, json.dumps(static, separators=(",", ":"))[:-1])
            with self._lock:
                self._encoded[record.service.name] = memo
        extra = {"volume_status": self._volumes.status_of(record.service)}
        if include_deployment:
            extra["deployment"] = self._deployments.summary(record.service)
        return (memo[1] + "," + json.dumps(extra, separators=(",", ":"))[1:]).encode()
