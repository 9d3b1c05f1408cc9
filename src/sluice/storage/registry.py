"""Storage providers by name, as OSCAR's FDL writes them; implementations are imported lazily."""

from collections.abc import Callable, Mapping
from typing import Any

from sluice.errors import Invalid
from sluice.storage.base import StorageProvider

ProviderFactory = Callable[[Mapping[str, Any]], StorageProvider]

_DEFAULT_REGION = "us-east-1"


def _open_minio(config: Mapping[str, Any]) -> StorageProvider:
    from sluice.storage.s3 import S3Provider

    return S3Provider(
        endpoint=_required(config, "endpoint", "minio"),
        access_key=_required(config, "access_key", "minio"),
        secret_key=_required(config, "secret_key", "minio"),
        region=_optional(config, "region") or _DEFAULT_REGION,
        verify=_flag(config, "verify", "minio"),
    )


def _open_s3(config: Mapping[str, Any]) -> StorageProvider:
    from sluice.storage.s3 import S3Provider

    # OSCAR's S3 provider has no endpoint (it is AWS); accepting one costs nothing.
    return S3Provider(
        endpoint=_optional(config, "endpoint"),
        access_key=_required(config, "access_key", "s3"),
        secret_key=_required(config, "secret_key", "s3"),
        region=_optional(config, "region") or _DEFAULT_REGION,
        verify=_flag(config, "verify", "s3"),
    )


def _open_webdav(config: Mapping[str, Any]) -> StorageProvider:
    from sluice.storage.webdav import WebDAVProvider

    return WebDAVProvider(
        hostname=_required(config, "hostname", "webdav"),
        login=_required(config, "login", "webdav"),
        password=_required(config, "password", "webdav"),
        verify=_flag(config, "verify", "webdav"),
    )


_FACTORIES: dict[str, ProviderFactory] = {
    "minio": _open_minio,
    "s3": _open_s3,
    "webdav": _open_webdav,
}


def register_provider(kind: str, factory: ProviderFactory) -> None:
    """Make ``kind`` available to :func:`open_provider` (replacing any earlier factory)."""
    _FACTORIES[kind.strip().lower()] = factory


def provider_kinds() -> list[str]:
    return sorted(_FACTORIES)


def open_provider(kind: str, config: Mapping[str, Any]) -> StorageProvider:
    """Build the provider for an FDL ``storage_providers`` entry of type ``kind``."""
    factory = _FACTORIES.get(kind.strip().lower())
    if factory is None:
        raise Invalid(
            f"storage provider type {kind!r} is not supported; "
            f"use one of {', '.join(provider_kinds())}"
        )
    return factory(config)


def _required(config: Mapping[str, Any], key: str, kind: str) -> str:
    value = config.get(key)
    if value is None or not str(value).strip():
        raise Invalid(f"{kind} storage provider config is missing {key!r}")
    return str(value).strip()


def _optional(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    return str(value).strip() or None if value is not None else None


def _flag(config: Mapping[str, Any], key: str, kind: str) -> bool:
    value = config.get(key, True)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise Invalid(f"{kind} storage provider config has {key}={value!r}; use true or false")
