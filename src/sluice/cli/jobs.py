"""``sluice jobs``: Sluice's job details, dead letters and retries."""

from typing import Annotated, Any

import typer
from rich.markup import escape

from sluice.cli import output
from sluice.cli.output import ListFormat
from sluice.cli.session import ClusterOption, session_of

app = typer.Typer(help="Inspect a service's jobs (attempts, exit codes) and retry dead letters.")

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="Service name.")]


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    name: NameArgument,
    dead: Annotated[
        bool, typer.Option("--dead", help="Only dead letters: jobs that ran out of attempts.")
    ] = False,
    cluster: ClusterOption = None,
    output_format: Annotated[ListFormat, typer.Option("--output", "-o")] = ListFormat.table,
) -> None:
    """List the jobs of a service with their attempts, exit codes and failure reasons."""
    jobs = session_of(ctx).client(cluster).job_details(name, dead=dead)
    if output_format is ListFormat.json:
        output.as_json(jobs)
        return
    output.table(
        ["NAME", "STATUS", "ATTEMPTS", "EXIT", "REASON", "INPUT"], [_row(job) for job in jobs]
    )


def _row(job: dict[str, Any]) -> list[str]:
    exit_code = job.get("exit_code")
    return [
        str(job.get("name") or ""),
        str(job.get("status") or ""),
        f"{job.get('attempts') or 0}/{job.get('max_attempts') or '?'}",
        "" if exit_code is None else str(exit_code),
        str(job.get("reason") or ""),
        str(job.get("input") or ""),
    ]


@app.command()
def retry(
    ctx: typer.Context,
    name: NameArgument,
    job: Annotated[str, typer.Argument(metavar="JOB", help="A dead letter's job name.")],
    cluster: ClusterOption = None,
) -> None:
    """Run a dead letter again, from its first attempt."""
    detail = session_of(ctx).client(cluster).retry_job(name, job)
    status = str(detail.get("status") or "queued")
    output.say(f"retrying job '{escape(job)}' of service '{escape(name)}' ({escape(status)})")


app.command("ls", hidden=True)(list_jobs)
