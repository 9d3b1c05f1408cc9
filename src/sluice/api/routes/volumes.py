"""``/system/volumes``: OSCAR's managed volumes."""

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep
from sluice.api.body import read_json
from sluice.core.volumes import VolumeView

router = APIRouter(prefix="/system", dependencies=[AdminOnly], tags=["volumes"])


@router.get("/volumes")
async def list_volumes(platform: PlatformDep) -> list[dict[str, Any]]:
    views = await run_in_threadpool(platform.oscar.volumes.list)
    return [_volume(view) for view in views]


@router.post("/volumes", status_code=201)
async def create_volume(request: Request, platform: PlatformDep) -> JSONResponse:
    """Create ``{name, size}``; 409 if a volume of that name exists."""
    payload = await read_json(request, "the volume")
    view = await run_in_threadpool(platform.oscar.volumes.create, payload)
    return JSONResponse(_volume(view), status_code=201)


@router.get("/volumes/{name}")
async def get_volume(name: str, platform: PlatformDep) -> dict[str, Any]:
    return _volume(await run_in_threadpool(platform.oscar.volumes.get, name))


@router.delete("/volumes/{name}", status_code=204)
async def delete_volume(name: str, platform: PlatformDep) -> Response:
    """Delete a volume no service mounts (400 while one does), with its files."""
    await run_in_threadpool(platform.oscar.volumes.delete, name)
    return Response(status_code=204)


def _volume(view: VolumeView) -> dict[str, Any]:
    volume = view.volume
    body: dict[str, Any] = {
        "name": volume.name,
        "namespace": view.namespace,
        "size": volume.size,
        "owner_user": volume.owner,
        "creation_mode": volume.creation_mode,
    }
    if volume.created_by_service:
        body["created_by_service"] = volume.created_by_service
    if volume.lifecycle_policy:
        body["lifecycle_policy"] = volume.lifecycle_policy
    if view.attachments:
        body["attachments"] = [
            {"service_name": a.service_name, "mount_path": a.mount_path} for a in view.attachments
        ]
    status: dict[str, Any] = {"phase": view.phase}
    if view.attachments:
        status["attachment_count"] = len(view.attachments)
    body["status"] = status
    return body
