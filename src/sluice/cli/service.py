"""``sluice service``: list, show and remove services; their files, logs and invocations."""

from typing import Annotated, Any

import typer

from sluice.cli import files, invoke, logs, output
from sluice.cli.errors import remove_each
from sluice.cli.output import DocFormat, ListFormat
from sluice.cli.session import ClusterOption, session_of

app = typer.Typer(help="Manage the services of a cluster.")

_DEFAULT_PROVIDERS = ("minio", "minio.default")


@app.command("list")
def list_services(
    ctx: typer.Context,
    cluster: ClusterOption = None,
    output_format: Annotated[ListFormat, typer.Option("--output", "-o")] = ListFormat.table,
) -> None:
    """List the services."""
    services = session_of(ctx).client(cluster).list_services()
    if output_format is ListFormat.json:
        output.as_json(services)
        return
    output.table(
        ["NAME", "IMAGE", "CPU", "MEMORY", "INPUTS", "OUTPUTS"],
        [_row(service) for service in services],
    )


def _row(service: dict[str, Any]) -> list[str]:
    return [
        str(service.get("name") or ""),
        str(service.get("image") or ""),
        str(service.get("cpu") or ""),
        str(service.get("memory") or ""),
        _paths(service.get("input")),
        _paths(service.get("output")),
    ]


def _paths(storage: Any) -> str:
    """``bucket/folder`` per entry, prefixed with the provider unless it is the default MinIO."""
    if not isinstance(storage, list):
        return ""
    shown = []
    for entry in storage:
        if not isinstance(entry, dict):
            continue
        provider, path = entry.get("storage_provider") or "", entry.get("path") or ""
        shown.append(path if provider in _DEFAULT_PROVIDERS else f"{provider}:{path}")
    return ", ".join(shown)


@app.command()
def get(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Service name.")],
    cluster: ClusterOption = None,
    output_format: Annotated[DocFormat, typer.Option("--output", "-o")] = DocFormat.yaml,
) -> None:
    """Show a service's definition (its token included)."""
    output.document(session_of(ctx).client(cluster).get_service(name), output_format)


@app.command()
def remove(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(metavar="NAME...", help="Service names.")],
    cluster: ClusterOption = None,
) -> None:
    """Remove services (and their jobs)."""
    client = session_of(ctx).client(cluster)
    remove_each(names, client.delete_service, "service")


app.command("run")(invoke.run)
app.command("job")(invoke.job)
app.add_typer(logs.app, name="logs", no_args_is_help=True)
app.command("put-file")(files.put_file)
app.command("get-file")(files.get_file)
app.command("list-files")(files.list_files)
app.command("delete-file")(files.delete_file)

# oscar-cli spellings, kept out of --help.
app.command("ls", hidden=True)(list_services)
app.command("rm", hidden=True)(remove)
app.command("delete", hidden=True)(remove)
app.command("invoke", hidden=True)(invoke.run)
app.command("r", hidden=True)(invoke.run)
app.command("j", hidden=True)(invoke.job)
app.command("pf", hidden=True)(files.put_file)
app.command("gf", hidden=True)(files.get_file)
app.command("lsf", hidden=True)(files.list_files)
app.command("df", hidden=True)(files.delete_file)
app.command("rmf", hidden=True)(files.delete_file)
