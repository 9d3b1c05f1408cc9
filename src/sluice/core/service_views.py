"""A service as OSCAR returns it: the stored definition plus what the runtime knows now."""

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

    def wire(self, record: ServiceRecord, include_deployment: bool = False) -> dict[str, Any]:
        service = record.service
        data = to_wire(service, self._object_store)
        data["namespace"] = self._namespace
        data["volume_status"] = self._volumes.status_of(service)
        if include_deployment:
            data["deployment"] = self._deployments.summary(service)
        return data
