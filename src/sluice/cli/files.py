"""``sluice service put-file/get-file/list-files/delete-file``: files in the cluster's store.

Files go straight to the object store that ``GET /system/config`` advertises, as with
oscar-cli. Remote paths are ``BUCKET/KEY``; a service's first input (output) path is the
default place to put (get) files.
"""

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape

from sluice.cli import output
from sluice.cli.errors import CliError
from sluice.cli.output import ListFormat
from sluice.cli.progress import NoProgressOption, transfer_bar, wanted
from sluice.cli.session import ClusterOption, session_of
from sluice.client.storage import ObjectInfo, ObjectPath, ObjectStore

DEFAULT_PROVIDER = "minio.default"
SUPPORTED_PROVIDERS = (DEFAULT_PROVIDER, "minio")
_PROVIDER = re.compile(r"(minio|s3|onedata|webdav)(\.[\w.-]+)?")

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="Service name.")]
ProviderOption = Annotated[
    str | None,
    typer.Option(
        "--provider",
        help="Storage provider TYPE.ID; oscar-cli's positional form is accepted too. "
        "Only the cluster's MinIO (minio.default) is supported.",
    ),
]


def put_file(
    ctx: typer.Context,
    name: NameArgument,
    paths: Annotated[
        list[str],
        typer.Argument(metavar="PATHS", help="LOCAL, then REMOTE (optional).", show_default=False),
    ],
    provider: ProviderOption = None,
    cluster: ClusterOption = None,
    no_progress: NoProgressOption = False,
) -> None:
    """Upload LOCAL to REMOTE: BUCKET/KEY, or a folder BUCKET/FOLDER/ to put it in.

    REMOTE defaults to the service's first input folder, so the upload starts a job.
    """
    chosen, rest = _split_provider(paths, provider, local_first=True)
    if len(rest) not in (1, 2):
        raise CliError("expected LOCAL [REMOTE]")
    local = Path(rest[0])
    if not local.is_file():
        raise CliError(f"{local}: no such file")
    service, store = _open(ctx, name, cluster, chosen)
    remote = _upload_target(service, local.name, rest[1] if len(rest) == 2 else None)
    with transfer_bar(local.name, local.stat().st_size, wanted(no_progress)) as advance:
        store.upload(local, remote, advance)
    output.say(f"uploaded {escape(str(local))} to {escape(str(remote))}")


def get_file(
    ctx: typer.Context,
    name: NameArgument,
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATHS", help="REMOTE, then LOCAL (both optional).", show_default=False
        ),
    ] = None,
    latest: Annotated[
        bool,
        typer.Option("--latest", help="Get the newest file of the service's first output folder."),
    ] = False,
    provider: ProviderOption = None,
    cluster: ClusterOption = None,
    no_progress: NoProgressOption = False,
) -> None:
    """Download REMOTE (BUCKET/KEY), or with --latest the newest output, to LOCAL.

    LOCAL defaults to the file's name in the current folder; an existing folder gets it inside.
    """
    chosen, rest = _split_provider(paths or [], provider)
    if len(rest) > (1 if latest else 2):
        raise CliError("expected [LOCAL] with --latest" if latest else "expected REMOTE [LOCAL]")
    if not latest and not rest:
        raise CliError("give REMOTE (BUCKET/KEY) or --latest")
    service, store = _open(ctx, name, cluster, chosen)
    if latest:
        source, local_arg = _latest(store, service), rest
    else:
        source, local_arg = store.head(_object_path(rest[0])), rest[1:]
    local = _local_target(local_arg[0] if local_arg else None, source.path.name)
    with transfer_bar(source.path.name, source.size, wanted(no_progress)) as advance:
        store.download(source.path, local, advance)
    output.say(f"downloaded {escape(str(source.path))} to {escape(str(local))}")


def list_files(
    ctx: typer.Context,
    name: NameArgument,
    paths: Annotated[
        list[str] | None, typer.Argument(metavar="PATH", help="BUCKET/FOLDER.", show_default=False)
    ] = None,
    provider: ProviderOption = None,
    cluster: ClusterOption = None,
    output_format: Annotated[ListFormat, typer.Option("--output", "-o")] = ListFormat.table,
) -> None:
    """List the files under PATH (BUCKET/FOLDER; default: the service's first output folder)."""
    chosen, rest = _split_provider(paths or [], provider)
    if len(rest) > 1:
        raise CliError("expected at most one PATH")
    service, store = _open(ctx, name, cluster, chosen)
    folder = _path(rest[0]) if rest else _service_path(service, "output")
    objects = sorted(store.list_objects(folder), key=lambda o: o.path.key)
    if output_format is ListFormat.json:
        output.as_json([o.as_dict() for o in objects])
        return
    output.table(
        ["KEY", "SIZE", "LAST MODIFIED"],
        [[o.path.key, str(o.size), output.when(o.last_modified)] for o in objects],
    )


def delete_file(
    ctx: typer.Context,
    name: NameArgument,
    paths: Annotated[
        list[str], typer.Argument(metavar="REMOTE", help="BUCKET/KEY.", show_default=False)
    ],
    provider: ProviderOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Delete the file REMOTE (BUCKET/KEY)."""
    chosen, rest = _split_provider(paths, provider)
    if len(rest) != 1:
        raise CliError("expected one REMOTE")
    remote = _object_path(rest[0])
    _, store = _open(ctx, name, cluster, chosen)
    store.head(remote)  # S3 deletes of missing objects succeed; say so instead
    store.delete(remote)
    output.say(f"deleted {escape(str(remote))}")


def _split_provider(
    args: list[str], option: str | None, *, local_first: bool = False
) -> tuple[str, list[str]]:
    """The provider and the other arguments; oscar-cli gives the provider as the first one."""
    first = args[0] if args else ""
    positional = _PROVIDER.fullmatch(first) is not None and (len(args) > 1 or "." in first)
    if positional and not (local_first and Path(first).exists()):
        if option is not None:
            raise CliError("give the storage provider once")
        return first, args[1:]
    return option or DEFAULT_PROVIDER, args


def _open(
    ctx: typer.Context, name: str, cluster: str | None, provider: str
) -> tuple[dict[str, Any], ObjectStore]:
    """The service (so that unknown names fail) and the cluster's object store."""
    if provider not in SUPPORTED_PROVIDERS:
        raise CliError(
            f"storage provider '{provider}' is not supported by the file commands; "
            f"use {' or '.join(SUPPORTED_PROVIDERS)} (the cluster's own object store)"
        )
    client = session_of(ctx).client(cluster)
    service = client.get_service(name)
    return service, ObjectStore.from_config(client.config())


def _service_path(service: dict[str, Any], kind: Literal["input", "output"]) -> ObjectPath:
    """The service's first ``kind`` path on the cluster's MinIO."""
    for entry in service.get(kind) or []:
        if not isinstance(entry, dict) or not entry.get("path"):
            continue
        if (entry.get("storage_provider") or DEFAULT_PROVIDER) in SUPPORTED_PROVIDERS:
            return _path(str(entry["path"]))
    raise CliError(
        f"service '{service.get('name', '')}' has no {kind} path on {DEFAULT_PROVIDER}; "
        "give the remote path"
    )


def _upload_target(service: dict[str, Any], filename: str, remote: str | None) -> ObjectPath:
    if remote is None:
        return _service_path(service, "input").child(filename)
    target = _path(remote)
    return target.child(filename) if target.is_folder else target


def _latest(store: ObjectStore, service: dict[str, Any]) -> ObjectInfo:
    folder = _service_path(service, "output")
    newest = store.latest(folder)
    if newest is None:
        raise CliError(f"no files under {folder}")
    return newest


def _local_target(local: str | None, filename: str) -> Path:
    if local is None:
        return Path(filename)
    target = Path(local)
    return target / filename if target.is_dir() else target


def _path(text: str) -> ObjectPath:
    try:
        return ObjectPath.parse(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _object_path(text: str) -> ObjectPath:
    """A path that names one object, not a folder."""
    path = _path(text)
    if path.is_folder:
        raise CliError(f"'{text}' names a folder; give BUCKET/KEY of a file")
    return path
