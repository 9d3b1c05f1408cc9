"""The web UI's storage: browse, upload, download one file or a folder as a zip, delete.

Paths are ``bucket/key`` in Sluice's own object store (``minio.default``). An upload to a
folder no service watches is refused with 409 unless ``force=true``: the file would be stored
but start nothing, which is rarely what was meant.
"""

import contextlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep
from sluice.api.body import discard, receive_body
from sluice.api.ports import Platform
from sluice.datadir import DataDir
from sluice.domain.parts import DEFAULT_PROVIDER
from sluice.errors import Conflict, Invalid
from sluice.storage.base import folder_prefix, split_object_path, split_path
from sluice.supervisor.body import Body
from sluice.triggers.router import relative_name

router = APIRouter(prefix="/ui/api", dependencies=[AdminOnly], include_in_schema=False)
MAX_LISTED = 5000
MAX_ZIPPED = 2000
PREVIEW_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
# A stored file is the users' data, never a page of this origin: opened directly, it runs
# nothing (an uploaded .html or .svg cannot act with the admin's session).
STORED_FILE_HEADERS = {
    "Content-Security-Policy": (
        "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    ),
    "X-Content-Type-Options": "nosniff",
}


@router.get("/buckets")
async def buckets(platform: PlatformDep) -> list[str]:
    return await run_in_threadpool(lambda: [b.name for b in platform.oscar.buckets.list()])


@router.get("/folder/{path:path}")
async def folder(path: str, platform: PlatformDep) -> dict[str, Any]:
    """The folders and files right under ``bucket/folder``, and the services watching it."""
    return await run_in_threadpool(_folder, platform, path)


def _folder(platform: Platform, path: str) -> dict[str, Any]:
    bucket, key = split_path(path)
    prefix = folder_prefix(key)
    folders: set[str] = set()
    files = []
    for count, item in enumerate(platform.storage.default.list_objects(path)):
        if count >= MAX_LISTED:
            break
        rest = item.path.split("/", 1)[1][len(prefix) :]
        head, slash, _ = rest.partition("/")
        if slash:
            folders.add(head)
        elif rest:
            modified = item.last_modified.isoformat().replace("+00:00", "Z")
            files.append({"name": rest, "size": item.size, "modified": modified})
    return {
        "path": f"{bucket}/{prefix}".rstrip("/"),
        "folders": sorted(folders),
        "files": sorted(files, key=lambda f: f["name"]),
        "watched_by": _folder_watchers(platform, bucket, key),
    }


def _folder_watchers(platform: Platform, bucket: str, key: str) -> list[str]:
    """The services that watch this folder (their name filters aside)."""
    key = key.strip("/")
    return sorted(
        {
            service.name
            for service, watch in platform.router.watchers()
            if watch.storage_provider == DEFAULT_PROVIDER
            and watch.bucket == bucket
            and (not watch.folder or key == watch.folder or key.startswith(watch.folder + "/"))
        }
    )


@router.put("/files/{path:path}")
async def upload(
    path: str, request: Request, platform: PlatformDep, force: bool = False
) -> dict[str, Any]:
    """Store the request body at ``path``; 413 past SLUICE_MAX_BODY, before anything is kept."""
    split_object_path(path)
    watched = await run_in_threadpool(_strict_watchers, platform, path)
    if not watched and not force:
        raise Conflict(
            f"no service watches {PurePosixPath(path).parent}: the file would be stored "
            "but start no job. Upload to a service's input folder, or upload anyway."
        )
    body = await receive_body(
        request, DataDir(platform.settings.data_dir).spool, platform.settings.max_body_bytes
    )
    try:
        await run_in_threadpool(_store, platform, path, body)
    finally:
        discard(body)
    return {"path": path, "watched_by": watched}


def _strict_watchers(platform: Platform, path: str) -> list[str]:
    bucket, key = split_object_path(path)
    return sorted(
        {
            service.name
            for service, watch in platform.router.watchers()
            if watch.storage_provider == DEFAULT_PROVIDER
            and (name := relative_name(watch, bucket, key)) is not None
            and watch.accepts(name)
        }
    )


def _store(platform: Platform, path: str, body: Body) -> None:
    if isinstance(body, Path):
        platform.storage.default.upload_file(body, path)
        return
    fd, name = tempfile.mkstemp(prefix="upload-", dir=_spool(platform))
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(body)
        platform.storage.default.upload_file(Path(name), path)
    finally:
        Path(name).unlink(missing_ok=True)


def _spool(platform: Platform) -> Path:
    spool = DataDir(platform.settings.data_dir).spool
    spool.mkdir(mode=0o700, parents=True, exist_ok=True)
    return spool


@router.get("/files/{path:path}")
async def download(path: str, platform: PlatformDep, inline: bool = False) -> Response:
    """One object; ``inline=true`` for a preview in the page."""
    split_object_path(path)
    local = await run_in_threadpool(_fetch, platform, path)
    name = PurePosixPath(path).name
    suffix = PurePosixPath(name).suffix.lower()
    # previews: images as themselves, anything else as plain text
    media = PREVIEW_TYPES.get(suffix, "text/plain; charset=utf-8") if inline else None
    return FileResponse(
        local,
        filename=name,
        media_type=media,
        headers=STORED_FILE_HEADERS,
        content_disposition_type="inline" if inline else "attachment",
        background=BackgroundTask(_remove, local.parent),
    )


def _fetch(platform: Platform, path: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="download-", dir=_spool(platform)))
    try:
        local = folder / "object"
        platform.storage.default.download_file(path, local)
    except BaseException:
        _remove(folder)
        raise
    return local


@router.delete("/files/{path:path}", status_code=204)
async def delete(path: str, platform: PlatformDep) -> Response:
    split_object_path(path)
    await run_in_threadpool(platform.storage.default.delete, path)
    return Response(status_code=204)


@router.get("/zip/{path:path}")
async def zip_folder(path: str, platform: PlatformDep) -> Response:
    """Every file under ``bucket/folder`` in one zip, named as in the folder."""
    local = await run_in_threadpool(_zip, platform, path)
    name = PurePosixPath(path.strip("/")).name or "files"
    return FileResponse(
        local,
        filename=f"{name}.zip",
        media_type="application/zip",
        background=BackgroundTask(_remove, local.parent),
    )


def _zip(platform: Platform, path: str) -> Path:
    _, key = split_path(path)
    prefix = folder_prefix(key)
    store = platform.storage.default
    items = [i for i in store.list_objects(path) if not i.path.endswith("/")]
    if len(items) > MAX_ZIPPED:
        raise Invalid(f"{path} holds more than {MAX_ZIPPED} files; zip a smaller folder")
    folder = Path(tempfile.mkdtemp(prefix="zip-", dir=_spool(platform)))
    try:
        archive = folder / "files.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for item in items:
                local = folder / "object"
                store.download_file(item.path, local)
                zipped.write(local, item.path.split("/", 1)[1][len(prefix) :])
                local.unlink()
    except BaseException:
        _remove(folder)
        raise
    return archive


def _remove(folder: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(folder)
