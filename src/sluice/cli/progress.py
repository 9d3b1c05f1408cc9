"""Progress bars for file transfers, on stderr and only when it is a terminal."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from sluice.cli import output

NoProgressOption = Annotated[
    bool, typer.Option("--no-progress", help="Do not show a progress bar.")
]


def wanted(no_progress: bool) -> bool:
    return not no_progress and output.stderr().is_terminal


@contextmanager
def transfer_bar(label: str, total: int | None, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A callback that advances a byte-count bar (safe to call from transfer threads)."""
    if not enabled:
        yield _ignore
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=output.stderr(), transient=True) as bar:
        task = bar.add_task(escape(label), total=total)
        yield lambda sent: bar.advance(task, sent)


def _ignore(_sent: int) -> None:
    return None
