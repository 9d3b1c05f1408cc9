"""The CLI's error boundary: known errors become one red line and exit status 1."""

from collections.abc import Callable
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from sluice.cli import output
from sluice.client import ClientError
from sluice.fdl import FdlError


class CliError(Exception):
    """A problem to report to the user as is (bad arguments, configuration, located errors)."""


_REPORTED = (CliError, ClientError, FdlError, OSError)


class SluiceGroup(TyperGroup):
    """Root command group: every subcommand runs inside its ``invoke``, so errors stop here."""

    # ``Any``: typer types this with its vendored click Context, which is not public API.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _REPORTED as exc:
            output.error(_describe(exc))
            raise typer.Exit(1) from None


def _describe(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


def remove_each(names: list[str], remove: Callable[[str], None], noun: str) -> None:
    """Remove every one, reporting each failure and going on; fail at the end if any failed."""
    failed = []
    for name in names:
        try:
            remove(name)
        except ClientError as exc:
            output.error(str(exc))
            failed.append(name)
            continue
        output.say(f"removed {noun} '{escape(name)}'")
    if failed:
        raise CliError(f"could not remove: {', '.join(failed)}")
