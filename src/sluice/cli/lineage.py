"""``sluice lineage CLUSTER BUCKET/KEY``: the files and jobs that produced a result, followed
across every cluster this CLI knows (each cluster answers for the objects its jobs wrote)."""

from typing import Annotated, Any

import typer
from rich.markup import escape

from sluice.cli import output
from sluice.cli.errors import CliError
from sluice.cli.session import Session, session_of
from sluice.client import ClientError

MAX_HOPS = 32


def lineage(
    ctx: typer.Context,
    cluster: Annotated[str, typer.Argument(help="Cluster whose store holds the object.")],
    path: Annotated[str, typer.Argument(metavar="BUCKET/KEY", help="The object.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the chain as JSON.")] = False,
) -> None:
    """Show the chain of files and jobs that produced an object, across clusters."""
    session = session_of(ctx)
    steps = trace(session, cluster, path.strip("/"))
    if as_json:
        output.as_json({"steps": steps})
        return
    for step in steps:
        obj, job = step["object"], step["job"]
        output.say(f"[bold]{escape(obj['path'])}[/bold]  ({escape(step['cluster'])}'s view)")
        if job is None:
            output.say("  uploaded (no job of a known cluster wrote it)")
            continue
        where = job.get("cluster") or step["cluster"]
        line = f"  ← job {escape(job['id'])} of {escape(job['service'])} on {escape(where)}"
        output.say(f"{line} ({escape(job['status'] or 'unknown')})")
        for kind in ("delegated_from", "delegated_to"):
            if kind in job:
                peer = job[kind]
                output.say(f"    {kind.replace('_', ' ')} {escape(peer['cluster'])}: {peer['job']}")


def trace(session: Session, cluster: str, path: str) -> list[dict[str, Any]]:
    """Each step (object, job that wrote it) with the cluster that answered for it."""
    steps = _ask(session, cluster, path, "")
    for _ in range(MAX_HOPS):
        last = steps[-1]
        if last["job"] is not None:
            break
        found = _other_writer(session, last["cluster"], last["object"])
        if found is None:
            break
        steps = steps[:-1] + found
    return steps


def _other_writer(session: Session, asked: str, obj: dict[str, str]) -> list[dict[str, Any]] | None:
    for other in sorted(session.config.clusters):
        if other == asked:
            continue
        try:
            steps = _ask(session, other, obj["path"], obj["store"])
        except CliError as exc:
            output.warn(f"lineage without cluster '{other}': {exc}")
            continue
        if steps[0]["job"] is not None:
            return steps
    return None


def _ask(session: Session, cluster: str, path: str, store: str) -> list[dict[str, Any]]:
    try:
        answer = session.client(cluster).lineage(path, store)
    except ClientError as exc:
        raise CliError(f"cluster '{cluster}': {exc}") from exc
    return [{**step, "cluster": cluster} for step in answer.get("steps", [])]
