"""An FDL across several clusters, checked as a whole before anything is sent.

``sluice apply`` reaches every target cluster first (a wrong password or an unreachable cluster
stops it before any service is created), refuses names that lead nowhere (a storage provider
or a replica's cluster the FDL does not define), refuses a workflow loop that runs through
other clusters' stores, and undoes what it did when a later service is refused.
"""

from dataclasses import dataclass, field
from typing import Any

from sluice.cli import output
from sluice.cli.config import Cluster
from sluice.cli.errors import CliError
from sluice.cli.session import Session, connect
from sluice.client import Client, ClientError
from sluice.domain.topology import Placed, find_cycle, place, store_name
from sluice.fdl import FdlService

_PATH_KEYS = ("input", "output")
NEIGHBOUR_TIMEOUT = 5.0  # seconds: a cluster only read for the loop check may be long gone


def fdl_clusters(services: list[FdlService]) -> dict[str, Cluster]:
    """The clusters the FDL itself defines (top-level ``clusters``), by id."""
    found: dict[str, Cluster] = {}
    for service in services:
        for ident, entry in (service.definition.get("clusters") or {}).items():
            if isinstance(entry, dict):
                found.setdefault(str(ident), Cluster.from_dict(entry))
    return found


def client_for(session: Session, services: list[FdlService], target: str) -> Client:
    """A configured cluster, or else one the FDL's ``clusters`` defines."""
    if target in session.config.clusters:
        return session.client(target)
    return session.adopt(target, connect(target, fdl_clusters(services)[target]))


def check_references(service: FdlService, clusters: set[str]) -> None:
    """Every provider a path names is defined; every replica's cluster is known (file:line)."""
    definition = service.definition
    providers = definition.get("storage_providers") or {}
    for key in (*_PATH_KEYS, "mount"):
        items = definition.get(key)
        entries = items if isinstance(items, list) else [items] if isinstance(items, dict) else []
        for index, item in enumerate(entries):
            name = str(item.get("storage_provider") or "minio.default") if item else ""
            kind, _, ident = name.partition(".")
            ident = ident or "default"
            if not name or (kind.lower() == "minio" and ident == "default"):
                continue
            if ident not in (providers.get(kind.lower()) or {}):
                where = (
                    f"{key}.{index}.storage_provider"
                    if key != "mount"
                    else f"{key}.storage_provider"
                )
                raise CliError(
                    f"{service.location(where)}: {where}: storage provider {name!r} is not "
                    f"defined in storage_providers.{kind.lower()}"
                )
    for where, replica in replicas_of(definition):
        ident = str(replica.get("cluster_id") or "")
        if str(replica.get("type") or "oscar").lower() == "oscar" and ident not in clusters:
            known = ", ".join(sorted(clusters)) or "none"
            field_path = f"{where}.cluster_id"
            raise CliError(
                f"{service.location(field_path)}: {field_path}: unknown cluster {ident!r} "
                f"(known: {known})"
            )


def replicas_of(definition: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each replica with its field path: v3 top-level ``replicas``, v4 ``federation.members``."""
    found: list[tuple[str, dict[str, Any]]] = []
    replicas = definition.get("replicas")
    for index, item in enumerate(replicas if isinstance(replicas, list) else []):
        if isinstance(item, dict):
            found.append((f"replicas.{index}", item))
    federation = definition.get("federation")
    members = federation.get("members") if isinstance(federation, dict) else None
    for index, item in enumerate(members if isinstance(members, list) else []):
        if isinstance(item, dict):
            found.append((f"federation.members.{index}", item))
    return found


@dataclass
class Reached:
    """A target cluster once reached: its client, its store's name and its services."""

    client: Client
    store: str
    services: list[dict[str, Any]] = field(default_factory=list)


def reach(target: str, client: Client) -> Reached:
    """Log in and read the cluster's store and services; a clear error when it cannot."""
    try:
        config = client.config()
        services = client.list_services()
    except ClientError as exc:
        raise CliError(_why_not(target, client, exc)) from exc
    endpoint = str((config.get("minio_provider") or {}).get("endpoint") or client.endpoint)
    return Reached(client, store_name(endpoint), services)


def reach_neighbours(
    session: Session, services: list[FdlService], known: set[str], reached: dict[str, Reached]
) -> dict[str, Reached]:
    """The other clusters this CLI or the FDL knows, for the loop check only: one that cannot
    be reached is left out (with a warning), one that is a target under another id too."""
    found: dict[str, Reached] = {}
    stores = {r.store for r in reached.values()}
    defined = {**fdl_clusters(services), **session.config.clusters}
    for ident in sorted(known - set(reached)):
        try:
            with connect(ident, defined[ident], timeout=NEIGHBOUR_TIMEOUT) as client:
                neighbour = reach(ident, client)
        except CliError as exc:
            output.warn(f"loop check without cluster '{ident}': {exc}")
            continue
        if neighbour.store not in stores:
            stores.add(neighbour.store)
            found[ident] = neighbour
    return found


def _why_not(target: str, client: Client, exc: ClientError) -> str:
    where = f"cluster '{target}' ({client.endpoint})"
    if exc.status_code in (401, 403):
        why = f"{where} refused the credentials ({exc.status_code})"
    elif exc.status_code is None:
        why = f"{where} is unreachable: {exc.message}"
    else:
        why = f"{where} answered {exc.message}"
    return f"{why}; nothing was applied"


def check_loops(
    planned: list[tuple[FdlService, str]],
    reached: dict[str, Reached],
    neighbours: dict[str, Reached],
) -> None:
    """No service of the FDL starts a chain that comes back to it, through any cluster."""
    ours = {
        (target, s.name): place(target, s.definition, reached[target].store)
        for s, target in planned
    }
    existing = {
        (target, str(d.get("name"))): place(target, d, r.store)
        for target, r in {**neighbours, **reached}.items()
        for d in r.services
    }
    graph: list[Placed] = list({**existing, **ours}.values())
    for service, target in planned:
        cycle = find_cycle(ours[(target, service.name)], graph)
        if cycle:
            raise CliError(
                f"{service.location('output')}: output: the workflow {' → '.join(cycle)} "
                "would run forever (it crosses clusters' stores); use another path"
            )


@dataclass
class Undo:
    """What one apply did, to take back when a later service is refused."""

    steps: list[tuple[Client, str, dict[str, Any] | None]] = field(default_factory=list)

    def created(self, client: Client, name: str) -> None:
        self.steps.append((client, name, None))

    def updated(self, client: Client, old: dict[str, Any]) -> None:
        self.steps.append((client, str(old.get("name")), old))

    def run(self) -> list[str]:
        """Undo, newest first; what could not be undone."""
        left: list[str] = []
        for client, name, old in reversed(self.steps):
            try:
                if old is None:
                    client.delete_service(name)
                else:
                    client.update_service(old)
            except ClientError as exc:
                left.append(f"service '{name}' on {client.endpoint}: {exc.message}")
        return left
