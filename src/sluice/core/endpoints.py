"""Which addresses a service may make the manager connect to (its storage providers, other
clusters): any, unless the admin lists them in SLUICE_ALLOWED_ENDPOINTS."""

from collections.abc import Iterator
from urllib.parse import urlsplit

from sluice.domain.service import Service
from sluice.errors import Invalid


def _endpoints(service: Service) -> Iterator[tuple[str, str]]:
    providers = service.storage_providers
    for ident, minio in providers.minio.items():
        yield f"storage_providers.minio.{ident}.endpoint", minio.endpoint
    for ident, dav in providers.webdav.items():
        yield f"storage_providers.webdav.{ident}.hostname", dav.hostname
    for ident, cluster in service.clusters.items():
        yield f"clusters.{ident}.endpoint", cluster.endpoint


def _host_and_port(address: str) -> tuple[str, int | None]:
    parts = urlsplit(address if "://" in address else f"//{address}")
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.hostname or "").lower(), port


class EndpointPolicy:
    """``allowed``: hosts (``s3.example.org``), hosts with a port (``10.0.0.5:9000``) or URLs;
    empty: every address is allowed."""

    def __init__(self, allowed: list[str]) -> None:
        self._allowed = [_host_and_port(entry.strip()) for entry in allowed if entry.strip()]
        self._listed = ", ".join(entry.strip() for entry in allowed if entry.strip())

    def allows(self, address: str) -> bool:
        if not self._allowed:
            return True
        host, port = _host_and_port(address)
        return any(host == h and (p is None or port == p) for h, p in self._allowed)

    def check(self, service: Service) -> list[str]:
        for where, address in _endpoints(service):
            if address and not self.allows(address):
                raise Invalid(
                    f"{where}: {address!r} is not an endpoint this Sluice may connect to "
                    f"(SLUICE_ALLOWED_ENDPOINTS: {self._listed})"
                )
        return []
