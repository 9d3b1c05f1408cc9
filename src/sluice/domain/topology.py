"""Workflows across clusters: which store each input and output path lives in, and whether a
chain of services leads back to where it started through any cluster's store.

A store is named by its S3 endpoint: ``minio.default`` of a service is the store of the cluster
it runs on; ``minio.<id>`` (or ``s3.<id>``) is whatever endpoint ``storage_providers`` gives it.
Pure functions over plain service definitions (dicts, as an FDL or the API has them), so the
CLI checks a whole FDL before it sends anything and the server checks what it stores.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from sluice.domain.parts import DEFAULT_PROVIDER, StoragePath

S3_KINDS = ("minio", "s3")


def store_name(endpoint: str) -> str:
    """``scheme://host:port`` in one spelling (case, default ports, trailing slashes)."""
    text = endpoint.strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    scheme = (parts.scheme or "http").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


@dataclass(frozen=True)
class Placed:
    """A service where it runs: its cluster, and its watched and written paths by store."""

    cluster: str
    name: str
    inputs: tuple[tuple[str, StoragePath], ...]
    outputs: tuple[tuple[str, StoragePath], ...]

    @property
    def label(self) -> str:
        return f"{self.name}@{self.cluster}"

    def feeds(self, other: "Placed") -> bool:
        return any(
            store == watched_store and _same_provider_feeds(out, watch)
            for store, out in self.outputs
            for watched_store, watch in other.inputs
        )


def _same_provider_feeds(out: StoragePath, watch: StoragePath) -> bool:
    """``out.feeds(watch)`` once both are known to be in the same store."""
    return out.model_copy(update={"storage_provider": watch.storage_provider}).feeds(watch)


def provider_store(definition: dict[str, Any], provider: str, own_store: str) -> str | None:
    """The store ``provider`` names in ``definition``; None when it is not an S3 store."""
    kind, _, ident = (provider or DEFAULT_PROVIDER).partition(".")
    kind, ident = kind.lower(), ident or "default"
    if kind not in S3_KINDS:
        return f"{kind}.{ident}"  # WebDAV and the rest: named by provider (no events there)
    if kind == "minio" and ident == "default":
        return own_store
    providers = definition.get("storage_providers") or {}
    entry = (providers.get(kind) or {}).get(ident) if isinstance(providers, dict) else None
    if isinstance(entry, dict) and entry.get("endpoint"):
        return store_name(str(entry["endpoint"]))
    return None


def place(cluster: str, definition: dict[str, Any], own_store: str) -> Placed:
    """``definition`` on ``cluster``, whose own store is ``own_store`` (a ``store_name``)."""

    def located(items: Any) -> tuple[tuple[str, StoragePath], ...]:
        found = []
        for item in items if isinstance(items, list) else []:
            try:
                path = StoragePath.model_validate(item)
            except ValidationError:
                continue  # the server reports it; a loop needs a valid path
            store = provider_store(definition, path.storage_provider, own_store)
            if store is not None:
                found.append((store, path))
        return tuple(found)

    return Placed(
        cluster,
        str(definition.get("name", "")),
        located(definition.get("input")),
        located(definition.get("output")),
    )


def find_cycle(start: Placed, others: Iterable[Placed]) -> list[str] | None:
    """The labels of a chain from ``start`` back to it (``start`` first and last), if any."""
    nodes = [o for o in others if (o.cluster, o.name) != (start.cluster, start.name)]
    nodes.append(start)
    path = [start]

    def visit(current: Placed, seen: set[tuple[str, str]]) -> list[str] | None:
        for nxt in nodes:
            if not current.feeds(nxt):
                continue
            if nxt is start:
                return [p.label for p in path] + [start.label]
            key = (nxt.cluster, nxt.name)
            if key not in seen:
                seen.add(key)
                path.append(nxt)
                found = visit(nxt, seen)
                path.pop()
                if found:
                    return found
        return None

    return visit(start, {(start.cluster, start.name)})
