"""``sluice up``: run the manager and, on the embedded defaults, its object store."""

from pathlib import Path
from typing import Annotated

import typer


def up(
    host: Annotated[str | None, typer.Option(help="Address to bind [env: SLUICE_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="API port [env: SLUICE_PORT].")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="State and object-store folder [env: SLUICE_DATA_DIR].")
    ] = None,
    admin_password: Annotated[
        str | None, typer.Option(help="Admin password [env: SLUICE_ADMIN_PASSWORD].")
    ] = None,
    s3_port: Annotated[
        int | None, typer.Option(help="Embedded object-store port [env: SLUICE_S3_PORT].")
    ] = None,
) -> None:
    """Start Sluice on this machine and keep it running until Ctrl-C or SIGTERM."""
    from sluice.server import serve
    from sluice.settings import Settings

    overrides: dict[str, object] = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "admin_password": admin_password,
        "s3_port": s3_port,
    }
    settings = Settings.model_validate({k: v for k, v in overrides.items() if v is not None})
    serve(settings)
