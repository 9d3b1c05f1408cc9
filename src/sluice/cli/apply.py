"""``sluice apply`` and ``sluice delete``: the services of an FDL file, on their clusters."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from sluice.cli import output
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
    """Create or update every service of an FDL file."""
    session = session_of(ctx)
    loaded = load_fdl(fdl)
    for service, target in _targets(session, loaded.services, cluster):
        definition = {**service.definition, "cluster_id": target}
        try:
            outcome, warnings = session.client(target).apply_service(definition)
        except ClientError as exc:
            if exc.status_code == 400:
                raise CliError(locate_errors(service, exc.detail)) from exc
            raise
        colour = "green" if outcome == "created" else "cyan"
        output.say(f"[{colour}]{outcome}[/{colour}] {_label(service, target)}")
        for warning in warnings:
            output.warn(locate_errors(service, warning))


def delete(ctx: typer.Context, fdl: FdlArgument, cluster: TargetOption = None) -> None:
    """Delete every service of an FDL file."""
    session = session_of(ctx)
    loaded = load_fdl(fdl, read_scripts=False)
    for service, target in _targets(session, loaded.services, cluster):
        try:
            session.client(target).delete_service(service.name)
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
    return [(s, resolve_cluster(s, config.clusters, config.default)) for s in services]


def _label(service: FdlService, target: str) -> str:
    return f"service '{escape(service.name)}' on cluster '{escape(target)}'"
