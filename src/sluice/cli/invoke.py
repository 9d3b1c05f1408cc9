"""``sluice service run`` and ``sluice service job``: invoke a service with an input."""

import base64
import sys
from pathlib import Path
from typing import Annotated

import typer

from sluice.cli import output
from sluice.cli.errors import CliError
from sluice.cli.session import ClusterOption, session_of
from sluice.client import decode_output

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="Service name.")]
InputOption = Annotated[
    Path | None,
    typer.Option("--input", "--file-input", "-f", help="Send this file as the input."),
]
TextOption = Annotated[
    str | None, typer.Option("--text-input", "-i", help="Send this text as the input.")
]


def job(
    ctx: typer.Context,
    name: NameArgument,
    input_file: InputOption = None,
    text: TextOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Start an asynchronous job with an input; prints the job's id."""
    body = _body(input_file, text)
    job_id = session_of(ctx).client(cluster).invoke_job(name, body)
    if job_id:
        typer.echo(job_id)
    else:
        output.warn("the job was accepted, but the server did not say its id")


def run(
    ctx: typer.Context,
    name: NameArgument,
    input_file: InputOption = None,
    text: TextOption = None,
    output_file: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the result to this file.")
    ] = None,
    cluster: ClusterOption = None,
) -> None:
    """Run a service synchronously and print its result (or write it to --output)."""
    body = _body(input_file, text)
    result = decode_output(session_of(ctx).client(cluster).run(name, body))
    if output_file is not None:
        output_file.write_bytes(result)
        return
    _print_result(result)


def _body(input_file: Path | None, text: str | None) -> bytes:
    """The input, base64-encoded as oscar-cli sends it."""
    if (input_file is None) == (text is None):
        raise CliError("give --input FILE or --text-input TEXT")
    data = input_file.read_bytes() if input_file is not None else (text or "").encode()
    return base64.b64encode(data)


def _print_result(result: bytes) -> None:
    terminal = sys.stdout.isatty()
    if terminal and not _is_text(result):
        raise CliError(
            f"the result is binary ({len(result)} bytes); write it to a file with --output FILE"
        )
    typer.echo(result, nl=terminal and not result.endswith(b"\n"))


def _is_text(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True
