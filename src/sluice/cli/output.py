"""How the CLI prints: rich tables for people, JSON and YAML for scripts, errors to stderr."""

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

_UNWRAPPED = 10_000


class ListFormat(StrEnum):
    table = "table"
    json = "json"


class DocFormat(StrEnum):
    yaml = "yaml"
    json = "json"


def stdout() -> Console:
    # Built per call so that the current sys.stdout is used (CliRunner swaps it).
    console = Console(soft_wrap=True)
    if not console.is_terminal:
        console.width = _UNWRAPPED  # pipes and files get whole table rows
    return console


def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True)


def say(message: str) -> None:
    """A human-readable line on stdout; ``message`` may carry rich markup."""
    stdout().print(message, highlight=False)


def warn(message: str) -> None:
    stderr().print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False)


def error(message: str) -> None:
    """One red ``error: …`` line on stderr per line of ``message``."""
    console = stderr()
    for line in message.splitlines() or [""]:
        console.print(f"[red]error:[/red] {escape(line)}", highlight=False)


def table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    grid = Table(*columns, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        grid.add_row(*(escape(cell) for cell in row))
    stdout().print(grid)


def when(value: datetime | str | None) -> str:
    """A time for tables, ``YYYY-MM-DD HH:MM:SS`` in UTC; "" when absent, as is when unparsable."""
    if not value:
        return ""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def as_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


def as_yaml(data: Any) -> None:
    typer.echo(yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True), nl=False)


def document(data: Any, fmt: DocFormat) -> None:
    if fmt is DocFormat.json:
        as_json(data)
    else:
        as_yaml(data)


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (scripts) as ``|`` blocks instead of one escaped line."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)
