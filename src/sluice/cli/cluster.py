"""``sluice cluster``: the clusters this CLI knows, kept in the config file."""

import sys
from typing import Annotated

import typer
from rich.markup import escape

from sluice.cli import output
from sluice.cli.config import Cluster
from sluice.cli.errors import CliError
from sluice.cli.output import ListFormat
from sluice.cli.session import ClusterOption, session_of

app = typer.Typer(help="Manage the clusters (Sluice or OSCAR endpoints) this CLI talks to.")


@app.command()
def add(
    ctx: typer.Context,
    cluster_id: Annotated[str, typer.Argument(metavar="ID", help="A name for the cluster.")],
    endpoint: Annotated[str, typer.Argument(help="Base URL, e.g. http://127.0.0.1:8080.")],
    user: Annotated[str, typer.Argument(help="User name (HTTP Basic).")],
    *,
    password: Annotated[str | None, typer.Argument(help="Password.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    disable_ssl: Annotated[
        bool, typer.Option("--disable-ssl", help="Do not verify TLS certificates.")
    ] = False,
) -> None:
    """Add a cluster (or replace one with the same id). The first one added is the default."""
    if not endpoint.startswith(("http://", "https://")):
        raise CliError(f"endpoint must start with http:// or https://, not '{endpoint}'")
    secret = _password(password, password_stdin)
    session = session_of(ctx)
    config = session.config
    replaced = cluster_id in config.clusters
    config.clusters[cluster_id] = Cluster(endpoint, user, secret, ssl_verify=not disable_ssl)
    if config.default is None:
        config.default = cluster_id
    session.save()
    verb = "replaced" if replaced else "added"
    suffix = " (default)" if config.default == cluster_id else ""
    output.say(f"{verb} cluster '{escape(cluster_id)}'{suffix}")


def _password(password: str | None, from_stdin: bool) -> str:
    if password is not None and from_stdin:
        raise CliError("give PASSWORD or --password-stdin, not both")
    if from_stdin:
        return sys.stdin.read().rstrip("\r\n")
    if password is not None:
        return password
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True))
    raise CliError("give PASSWORD or --password-stdin")


@app.command("list")
def list_clusters(
    ctx: typer.Context,
    output_format: Annotated[ListFormat, typer.Option("--output", "-o")] = ListFormat.table,
) -> None:
    """List the configured clusters."""
    config = session_of(ctx).config
    if output_format is ListFormat.json:
        output.as_json(
            [
                {
                    "id": key,
                    "endpoint": cluster.endpoint,
                    "user": cluster.auth_user,
                    "ssl_verify": cluster.ssl_verify,
                    "default": key == config.default,
                }
                for key, cluster in config.clusters.items()
            ]
        )
        return
    output.table(
        ["ID", "ENDPOINT", "USER", "SSL VERIFY", "DEFAULT"],
        [
            [
                key,
                cluster.endpoint,
                cluster.auth_user or "",
                "yes" if cluster.ssl_verify else "no",
                "*" if key == config.default else "",
            ]
            for key, cluster in config.clusters.items()
        ],
    )


@app.command()
def default(
    ctx: typer.Context,
    cluster_id: Annotated[
        str | None, typer.Argument(metavar="[ID]", help="Make this cluster the default.")
    ] = None,
) -> None:
    """Show the default cluster, or set it."""
    session = session_of(ctx)
    config = session.config
    if cluster_id is None:
        if config.default is None:
            raise CliError("no default cluster; add one with `sluice cluster add`")
        typer.echo(config.default)
        return
    config.get(cluster_id)
    config.default = cluster_id
    session.save()
    output.say(f"default cluster is now '{escape(cluster_id)}'")


@app.command()
def remove(
    ctx: typer.Context,
    cluster_id: Annotated[str, typer.Argument(metavar="ID")],
) -> None:
    """Forget a cluster."""
    session = session_of(ctx)
    config = session.config
    config.get(cluster_id)
    del config.clusters[cluster_id]
    if config.default == cluster_id:
        config.default = None
    session.save()
    output.say(f"removed cluster '{escape(cluster_id)}'")
    if config.default is None and config.clusters:
        output.warn("no default cluster now; set one with `sluice cluster default ID`")


@app.command()
def info(ctx: typer.Context, cluster: ClusterOption = None) -> None:
    """Show the cluster's version and backend (GET /system/info)."""
    output.as_yaml(session_of(ctx).client(cluster).info())


# oscar-cli spellings, kept out of --help.
app.command("ls", hidden=True)(list_clusters)
app.command("rm", hidden=True)(remove)
app.command("delete", hidden=True)(remove)
