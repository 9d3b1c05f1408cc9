"""``sluice apply`` and ``sluice delete``: the services of an FDL file, on their clusters."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from sluice.cli import output
from sluice.cli.continuum import (
    Reached,
    Undo,
    check_loops,
    check_references,
    client_for,
    fdl_clusters,
    reach,
    reach_neighbours,
)
from sluice.cli.errors import CliError
from sluice.cli.session import Session, session_of
from sluice.client import ClientError
from sluice.fdl import FdlService, load_fdl, locate_errors, resolve_cluster

FdlArgument = Annotated[Path, typer.Argument(metavar="FDL", help="FDL file (YAML).")]
TargetOption = Annotated[
    str | None,
    typer.Option("--cluster", "-c", help="Send every service here instead of its FDL key."),
]


def apply(ctx: typer.Context, fdl: FdlArgument, cluster: TargetOption = None) -> None:
    """Create or update every service of an FDL file, on each service's own cluster.

    Every target cluster is reached, and the whole FDL checked (providers, replicas' clusters,
    loops through other clusters' stores), before anything is sent; when a service is refused,
    what this apply already did is undone."""
    session = session_of(ctx)
    loaded = load_fdl(fdl)
    planned = _targets(session, loaded.services, cluster)
    known = set(session.config.clusters) | set(fdl_clusters(loaded.services))
    for service, _ in planned:
        check_references(service, known)
    reached = {
        target: reach(target, client_for(session, loaded.services, target))
        for target in dict.fromkeys(t for _, t in planned)
    }
    check_loops(planned, reached, reach_neighbours(session, loaded.services, known, reached))
    undo = Undo()
    for service, target in planned:
        definition = _with_clusters(session, loaded.services, service, target)
        try:
            outcome, warnings = _apply_one(reached[target], definition, undo)
        except ClientError as exc:
            if exc.status_code == 400:
                message = locate_errors(service, exc.detail)
            else:
                message = f"{_label(service, target)}: {exc}"
            raise CliError(_undone(message, undo)) from exc
        colour = "green" if outcome == "created" else "cyan"
        output.say(f"[{colour}]{outcome}[/{colour}] {_label(service, target)}")
        for warning in warnings:
            output.warn(locate_errors(service, warning))


def _apply_one(reached: Reached, definition: dict[str, Any], undo: Undo) -> tuple[str, list[str]]:
    client, name = reached.client, str(definition["name"])
    old = next((s for s in reached.services if s.get("name") == name), None)
    if old is None:
        warnings = client.create_service(definition)
        undo.created(client, name)
        return "created", warnings
    warnings = client.update_service(definition)
    undo.updated(client, old)
    return "updated", warnings


def _with_clusters(
    session: Session, services: list[FdlService], service: FdlService, target: str
) -> dict[str, Any]:
    """The definition sent: ``cluster_id`` its target and, as oscar-cli does, an entry in
    ``clusters`` for every target cluster of the FDL (what delegation to a replica needs)."""
    clusters = dict(service.definition.get("clusters") or {})
    for other in dict.fromkeys(s.cluster_id for s in services):
        if other not in clusters and other in session.config.clusters:
            entry = session.config.clusters[other]
            clusters[other] = {
                "endpoint": entry.endpoint,
                "auth_user": entry.auth_user or "",
                "auth_password": entry.auth_password or "",
                "ssl_verify": entry.ssl_verify,
            }
    definition = {**service.definition, "cluster_id": target}
    if clusters:
        definition["clusters"] = clusters
    return definition


def _undone(message: str, undo: Undo) -> str:
    """The refusal first (it points at the FDL line); then what was taken back."""
    done = len(undo.steps)
    left = undo.run()
    if not done:
        return message
    if left:
        return "\n".join([message, "could not undo:", *left])
    return f"{message}\nundone: the {done} service(s) this apply had already sent"


def delete(ctx: typer.Context, fdl: FdlArgument, cluster: TargetOption = None) -> None:
    """Delete every service of an FDL file."""
    session = session_of(ctx)
    loaded = load_fdl(fdl, read_scripts=False)
    for service, target in _targets(session, loaded.services, cluster):
        try:
            client_for(session, loaded.services, target).delete_service(service.name)
        except ClientError as exc:
            if exc.status_code != 404:
                raise
            output.warn(f"service '{service.name}' not found on cluster '{target}'")
            continue
        output.say(f"[red]deleted[/red] {_label(service, target)}")


def _targets(
    session: Session, services: list[FdlService], cluster: str | None
) -> list[tuple[FdlService, str]]:
    """Each service with the cluster it goes to, all checked before anything is sent."""
    config = session.config
    if cluster is not None:
        config.get(cluster)
        return [(service, cluster) for service in services]
    known = set(config.clusters) | set(fdl_clusters(services))
    return [(s, resolve_cluster(s, known, config.default)) for s in services]


def _label(service: FdlService, target: str) -> str:
    return f"service '{escape(service.name)}' on cluster '{escape(target)}'"
