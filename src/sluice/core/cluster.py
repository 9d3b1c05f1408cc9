"""How Sluice describes itself to OSCAR clients: ``/system/info`` and ``/system/config``."""

import platform
from typing import Any

import sluice
from sluice.domain.parts import MinIOProvider
from sluice.settings import Settings

# Go's GOARCH names, which OSCAR reports; Python reports the kernel's.
_GO_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}
BACKEND_NAME = "Sluice"


def architecture() -> str:
    machine = platform.machine().lower()
    return _GO_ARCHITECTURES.get(machine, machine)


def info() -> dict[str, Any]:
    """OSCAR's ``Info``: the OSCAR API level as version, Sluice itself as the serverless backend."""
    return {
        "version": sluice.OSCAR_API_VERSION,
        "git_commit": "",
        "architecture": architecture(),
        "kubernetes_version": "",
        "serverless_backend": {"name": BACKEND_NAME, "version": sluice.__version__},
    }


def config(settings: Settings, store: MinIOProvider) -> dict[str, Any]:
    """OSCAR's ``ConfigForUser``; ``minio_provider`` is the object store Sluice uses."""
    return {
        "config": {
            "name": settings.cluster_name,
            "namespace": settings.namespace,
            "services_namespace": settings.services_namespace,
            "controller_service_account": "",
            "gpu_available": False,
            "interLink_available": False,
            "serverless_backend": BACKEND_NAME,
            "yunikorn_enable": False,
            "kueue_enable": False,
            "volume_enable": True,
            "oidc_groups": [],
            "minio_quota_enabled": False,
        },
        "minio_provider": {
            "endpoint": store.endpoint,
            "verify": store.verify,
            "access_key": store.access_key,
            "secret_key": store.secret_key,
            "region": store.region or "us-east-1",
        },
        "allowed_image_repositories": [],
    }
