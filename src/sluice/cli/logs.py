"""``sluice service logs``: list, show and remove the job logs of a service (as oscar-cli)."""

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from sluice.cli import output
from sluice.cli.errors import CliError, remove_each
from sluice.cli.output import ListFormat
from sluice.cli.session import ClusterOption, session_of

app = typer.Typer(help="Show and remove the logs of a service's jobs.")

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="Service name.")]
_TIMES = ("creation_time", "start_time", "finish_time")


@app.command("list")
def list_logs(
    ctx: typer.Context,
    name: NameArgument,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", "-s", help="Only jobs in these states, e.g. Succeeded,Failed (repeatable)."
        ),
    ] = None,
    cluster: ClusterOption = None,
    output_format: Annotated[ListFormat, typer.Option("--output", "-o")] = ListFormat.table,
) -> None:
    """List the jobs of a service, oldest first."""
    jobs = session_of(ctx).client(cluster).list_jobs(name)
    wanted = {s.strip().lower() for item in status or [] for s in item.split(",") if s.strip()}
    rows = [
        {"name": job, **info}
        for job, info in jobs.items()
        if not wanted or str(info.get("status", "")).lower() in wanted
    ]
    rows.sort(key=lambda row: (_time(row.get("creation_time")) or datetime.min, row["name"]))
    if output_format is ListFormat.json:
        output.as_json(rows)
        return
    output.table(
        ["NAME", "STATUS", "CREATED", "STARTED", "FINISHED"],
        [
            [row["name"], str(row.get("status", ""))] + [_shown(row, t) for t in _TIMES]
            for row in rows
        ],
    )


@app.command("get")
def get_log(
    ctx: typer.Context,
    name: NameArgument,
    job: Annotated[
        str | None, typer.Argument(metavar="JOB", help="Job name.", show_default=False)
    ] = None,
    latest: Annotated[bool, typer.Option("--latest", help="The most recent job's log.")] = False,
    timestamps: Annotated[
        bool, typer.Option("--timestamps", "-t", help="Prefix each line with its time.")
    ] = False,
    cluster: ClusterOption = None,
) -> None:
    """Print the log of JOB, or of the most recent job with --latest."""
    if (job is None) != latest:
        raise CliError("give JOB or --latest")
    client = session_of(ctx).client(cluster)
    if job is None:
        job = _latest_job(name, client.list_jobs(name))
    text = client.get_job_log(name, job, timestamps=timestamps)
    typer.echo(text, nl=not text.endswith("\n"))


@app.command("remove")
def remove_logs(
    ctx: typer.Context,
    name: NameArgument,
    jobs: Annotated[
        list[str] | None, typer.Argument(metavar="JOB", help="Job names.", show_default=False)
    ] = None,
    succeeded: Annotated[
        bool, typer.Option("--succeeded", help="Remove every succeeded job.")
    ] = False,
    every: Annotated[bool, typer.Option("--all", help="Remove every finished job.")] = False,
    cluster: ClusterOption = None,
) -> None:
    """Remove the jobs (and their logs) JOB..., all succeeded ones, or all finished ones."""
    if [bool(jobs), succeeded, every].count(True) != 1:
        raise CliError("give JOB..., --succeeded or --all")
    client = session_of(ctx).client(cluster)
    if jobs:
        remove_each(jobs, lambda job: client.delete_job(name, job), "job")
        return
    client.delete_jobs(name, all=every)
    which = "finished" if every else "succeeded"
    output.say(f"removed the {which} jobs of service '{escape(name)}'")


def _latest_job(name: str, jobs: dict[str, dict[str, Any]]) -> str:
    """The job with the newest creation, start or finish time (as oscar-cli picks it)."""
    if not jobs:
        raise CliError(f"service '{name}' has no jobs")
    return max(jobs, key=lambda job: (_newest(jobs[job]), job))


def _newest(info: dict[str, Any]) -> datetime:
    times = [_time(info.get(key)) for key in _TIMES]
    return max((t for t in times if t is not None), default=datetime.min)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _shown(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return output.when(value) if isinstance(value, str) else ""


# oscar-cli spellings, kept out of --help.
app.command("ls", hidden=True)(list_logs)
app.command("delete", hidden=True)(remove_logs)
app.command("rm", hidden=True)(remove_logs)
