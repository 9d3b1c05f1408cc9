"""Workflows: one service's output path is another's input. A chain that leads back to where it
started would run forever, so it is refused when the service that closes the loop is saved.

A provider that names this cluster's own store by its endpoint (``minio.<id>`` with the
store's URL, as another cluster's FDL would) is this store: a loop through it is seen too.
Loops through other clusters' stores are refused by ``sluice apply``, which sees every
cluster (``domain/topology.py``).
"""

from collections.abc import Callable, Iterable

from sluice.domain.parts import DEFAULT_PROVIDER, StoragePath
from sluice.domain.service import Service
from sluice.domain.topology import store_name
from sluice.errors import Invalid


def as_seen_here(service: Service, own_store: str) -> Service:
    """``service`` with providers that are this store by another name made ``minio.default``."""
    aliases = {
        f"minio.{ident}"
        for ident, provider in service.storage_providers.minio.items()
        if ident != "default" and provider.endpoint and store_name(provider.endpoint) == own_store
    }
    if not own_store or not aliases:
        return service

    def local(paths: list[StoragePath]) -> list[StoragePath]:
        return [
            p.model_copy(update={"storage_provider": DEFAULT_PROVIDER})
            if p.storage_provider in aliases
            else p
            for p in paths
        ]

    return service.model_copy(
        update={"input": local(service.input), "output": local(service.output)}
    )


def downstream(service: Service, others: Iterable[Service]) -> list[Service]:
    return [
        other
        for other in others
        if any(out.feeds(watch) for out in service.output for watch in other.input)
    ]


def check_no_cycle(
    service: Service, existing: Callable[[], list[Service]], own_store: str = ""
) -> list[str]:
    """Invalid if the outputs of ``service`` lead, through other services, back to it."""
    if not service.output:
        return []
    services = {s.name: as_seen_here(s, own_store) for s in existing() if s.name != service.name}
    service = as_seen_here(service, own_store)
    services[service.name] = service
    path = [service.name]

    def visit(current: Service, seen: set[str]) -> None:
        for nxt in downstream(current, services.values()):
            if nxt.name == service.name:
                chain = " → ".join([*path, service.name])
                raise Invalid(f"output: the workflow {chain} would run forever; use another path")
            if nxt.name not in seen:
                seen.add(nxt.name)
                path.append(nxt.name)
                visit(nxt, seen)
                path.pop()

    visit(service, {service.name})
    return []
