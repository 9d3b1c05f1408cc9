"""``sluice up``: run the manager and, on the embedded defaults, its object store."""

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from sluice.cli.errors import CliError


def up(
    host: Annotated[str | None, typer.Option(help="Address to bind [env: SLUICE_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="API port [env: SLUICE_PORT].")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="State and object-store folder [env: SLUICE_DATA_DIR].")
    ] = None,
    admin_password_file: Annotated[
        Path | None,
        typer.Option(
            help="File holding the admin password (never put it on a command line) "
            "[env: SLUICE_ADMIN_PASSWORD_FILE, or SLUICE_ADMIN_PASSWORD]."
        ),
    ] = None,
    s3_port: Annotated[
        int | None, typer.Option(help="Embedded object-store port [env: SLUICE_S3_PORT].")
    ] = None,
    runtime: Annotated[
        str | None,
        typer.Option(
            help="Where jobs run: process (this machine) or container (each service's image) "
            "[env: SLUICE_RUNTIME]."
        ),
    ] = None,
) -> None:
    """Start Sluice on this machine and keep it running until Ctrl-C or SIGTERM."""
    from sluice.server import serve
    from sluice.settings import Settings

    overrides: dict[str, object] = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "admin_password_file": admin_password_file,
        "s3_port": s3_port,
        "runtime": runtime,
    }
    try:
        settings = Settings.model_validate({k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        given = {k for k, v in overrides.items() if v is not None}
        raise CliError(_settings_errors(exc, given)) from None
    serve(settings)


def _settings_errors(exc: ValidationError, flags: set[str]) -> str:
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "settings"
        where = f"--{name.replace('_', '-')}" if name in flags else f"SLUICE_{name.upper()}"
        lines.append(f"{where}: {error['msg']} (got {error.get('input')!r})")
    return "\n".join(lines)
