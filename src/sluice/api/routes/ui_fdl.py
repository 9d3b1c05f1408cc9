"""The web UI's "drop an FDL file": the same loader and located errors as ``sluice apply``.

The browser sends the FDL and the files it names (its scripts) as text. They are written to a
private folder, loaded with ``sluice.fdl`` exactly as the CLI loads them, and each service is
created, or replaced when one of that name exists. Every service of the file is parsed before
any is saved, so an error in one saves none.
"""

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep
from sluice.api.body import read_json
from sluice.api.ports import Platform
from sluice.domain.service import parse_service
from sluice.errors import Invalid
from sluice.fdl import (
    MAX_FDL_BYTES,
    MAX_SCRIPT_BYTES,
    FdlError,
    FdlService,
    load_fdl,
    locate_errors,
)

router = APIRouter(prefix="/ui/api", dependencies=[AdminOnly], include_in_schema=False)
MAX_FILES = 32


@router.post("/fdl")
async def apply_fdl(request: Request, platform: PlatformDep) -> dict[str, Any]:
    """``{"fdl": "copy.yaml", "files": {"copy.yaml": "...", "copy.sh": "..."}}``: 400 with
    ``file:line:column: field: message`` lines when the file or a service is wrong."""
    body = await read_json(request, "the FDL and its files")
    fdl, files = _upload(body)
    return await run_in_threadpool(_apply, platform, fdl, files)


def _upload(body: Any) -> tuple[str, dict[str, str]]:
    if not isinstance(body, dict) or not isinstance(body.get("files"), dict):
        raise Invalid("send {'fdl': name, 'files': {name: text}}")
    files: dict[str, str] = body["files"]
    fdl = body.get("fdl")
    if not isinstance(fdl, str) or fdl not in files:
        raise Invalid("'fdl' must name one of the files sent")
    if len(files) > MAX_FILES:
        raise Invalid(f"send at most {MAX_FILES} files with an FDL")
    for name, text in files.items():
        if not isinstance(text, str):
            raise Invalid(f"{name}: send the file's text")
        if PurePosixPath(name).name != name or name in {"", ".", ".."} or "\\" in name:
            raise Invalid(f"{name!r}: send files by their bare names")
        if len(text.encode()) > max(MAX_FDL_BYTES, MAX_SCRIPT_BYTES):
            raise Invalid(f"{name}: the file is too large")
    return fdl, files


def _apply(platform: Platform, fdl: str, files: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sluice-ui-fdl-") as temporary:
        folder = str(Path(temporary).resolve())
        for name, text in files.items():
            (Path(folder) / name).write_text(text)
        try:
            services = load_fdl(Path(folder) / fdl).services
        except FdlError as exc:
            message = _relative(str(exc), folder)
            if "script file not found" in message:
                message += " (drop the script files together with the FDL file)"
            raise Invalid(message) from None
        for service in services:
            _parse(service, folder)
        saved = [_save(platform, service, folder) for service in services]
    return {"services": saved}


def _parse(service: FdlService, folder: str) -> None:
    try:
        parse_service(service.definition)
    except Invalid as exc:
        raise Invalid(_relative(locate_errors(service, str(exc)), folder)) from None


def _save(platform: Platform, service: FdlService, folder: str) -> dict[str, Any]:
    definition = service.definition
    exists = platform.services.exists(service.name)
    try:
        saved = (platform.services.update if exists else platform.services.create)(definition)
    except Invalid as exc:
        raise Invalid(_relative(locate_errors(service, str(exc)), folder)) from None
    return {"name": service.name, "updated": exists, "warnings": saved.warnings}


def _relative(text: str, folder: str) -> str:
    """Messages name the files as the user sent them, not the private folder."""
    return text.replace(folder + "/", "").replace(folder, ".")
