"""Storage providers (S3/MinIO/SeaweedFS, WebDAV) behind one Protocol, and the embedded store.

Implementations with heavy dependencies are imported on first use, so ``import sluice.storage``
stays cheap.
"""

from typing import TYPE_CHECKING, Any

from sluice.storage.base import ObjectInfo, StorageProvider, split_path
from sluice.storage.registry import open_provider, register_provider
from sluice.storage.seaweedfs_events import ObjectEvent, parse_webhook_event

if TYPE_CHECKING:
    from sluice.storage.credentials import S3Credentials
    from sluice.storage.embedded import EmbeddedSeaweedFS
    from sluice.storage.s3 import S3Provider
    from sluice.storage.webdav import WebDAVProvider

__all__ = [
    "EmbeddedSeaweedFS",
    "ObjectEvent",
    "ObjectInfo",
    "S3Credentials",
    "S3Provider",
    "StorageProvider",
    "WebDAVProvider",
    "open_provider",
    "parse_webhook_event",
    "register_provider",
    "split_path",
]

_LAZY = {
    "EmbeddedSeaweedFS": "sluice.storage.embedded",
    "S3Credentials": "sluice.storage.credentials",
    "S3Provider": "sluice.storage.s3",
    "WebDAVProvider": "sluice.storage.webdav",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sluice.storage' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
