"""Managed volumes on Kubernetes: one PersistentVolumeClaim per volume in the services'
namespace, made by the cluster's provisioner for ``SLUICE_K8S_STORAGE_CLASS`` (its default
class if unset) or bound to a matching PersistentVolume made beforehand. Pods mount it by
name (``manifests._pod_spec``)."""

import logging
from typing import Any

from sluice.errors import StorageError
from sluice.execution.kubernetes import manifests as m

log = logging.getLogger(__name__)


class ClaimVolumes:
    """The ``VolumePlace`` of the kubernetes runtime."""

    def __init__(self, core: Any, namespace: str, storage_class: str | None) -> None:
        """``core``: the official client's ``CoreV1Api``."""
        self._core = core
        self._namespace = namespace
        self._storage_class = storage_class

    def make(self, name: str, size: str) -> None:
        from kubernetes.client.exceptions import ApiException

        claim = m.claim_manifest(name, self._namespace, size, self._storage_class)
        try:
            self._core.create_namespaced_persistent_volume_claim(self._namespace, claim)
        except ApiException as exc:
            if exc.status != 409:
                raise StorageError(
                    f"kubernetes: cannot create the PersistentVolumeClaim of volume {name!r}: "
                    f"{exc.reason}: {_message(exc)}"
                ) from exc
            log.info("volume %s: its PersistentVolumeClaim was already there", name)

    def remove(self, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self._core.delete_namespaced_persistent_volume_claim(name, self._namespace)
        except ApiException as exc:
            if exc.status != 404:
                log.warning("cannot delete the PersistentVolumeClaim %s: %s", name, exc.reason)


def _message(exc: Any) -> str:
    import json

    try:
        return str(json.loads(exc.body).get("message", ""))
    except (TypeError, ValueError, AttributeError):
        return ""
