"""The ``sluice`` application: global options and the command groups."""

from pathlib import Path
from typing import Annotated

import typer

from sluice.cli import apply, cluster, jobs, lineage, service
from sluice.cli.config import CONFIG_ENV, default_config_path
from sluice.cli.errors import SluiceGroup
from sluice.cli.session import Session
from sluice.cli.up import up

app = typer.Typer(
    cls=SluiceGroup,
    help="Sluice: event-driven serverless file processing, compatible with OSCAR.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals would include passwords
)


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar=CONFIG_ENV,
            help="Cluster configuration file (default: config.yaml in the user config folder).",
        ),
    ] = None,
) -> None:
    session = Session(config or default_config_path())
    ctx.obj = session
    ctx.call_on_close(session.close)


app.command()(up)
app.add_typer(cluster.app, name="cluster", no_args_is_help=True)
app.command()(apply.apply)
app.command()(apply.delete)
app.command()(lineage.lineage)
app.add_typer(service.app, name="service", no_args_is_help=True)
app.add_typer(jobs.app, name="jobs", no_args_is_help=True)
