"""``/system/services``: OSCAR's service management endpoints."""

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep
from sluice.api.body import read_json
from sluice.api.ports import Platform
from sluice.core.services import Saved
from sluice.domain.service import Service, ServiceRecord

WARNING_HEADER = "X-Sluice-Warning"

router = APIRouter(prefix="/system", dependencies=[AdminOnly], tags=["services"])

SERVICE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Service"}}},
    }
}
ONE_SERVICE: dict[int | str, dict[str, Any]] = {
    200: {"model": Service, "description": "The service, secrets hidden."},
    404: {"description": "No service with that name."},
}


def _with_warnings(response: Response, saved: Saved) -> Response:
    """What the user should know about a saved service, one header each (OSCAR clients ignore
    them; Sluice's CLI prints them)."""
    for warning in saved.warnings:
        response.headers.append(WARNING_HEADER, _header_text(warning))
    return response


def _header_text(text: str) -> str:
    return " ".join(text.split()).encode("ascii", "backslashreplace").decode()


def _wire(platform: Platform, record: ServiceRecord, include: str = "") -> dict[str, Any]:
    with_deployment = "deployment" in include.split(",")
    return platform.oscar.service_views.wire(record, with_deployment)


@router.post("/services", status_code=201, openapi_extra=SERVICE_BODY)
async def create_service(request: Request, platform: PlatformDep) -> Response:
    """Create a service. 400 names each wrong field; 409 if the name is taken."""
    payload = await read_json(request)
    saved = await run_in_threadpool(platform.services.create, payload)
    return _with_warnings(Response(status_code=201), saved)


@router.put("/services", status_code=204, openapi_extra=SERVICE_BODY)
async def update_service(request: Request, platform: PlatformDep) -> Response:
    """Replace the service named in the body; its token and owner are kept."""
    payload = await read_json(request)
    saved = await run_in_threadpool(platform.services.update, payload)
    return _with_warnings(Response(status_code=204), saved)


@router.get("/services", responses={200: {"model": list[Service]}})
async def list_services(platform: PlatformDep, include: str = "") -> Response:
    """Every service; ``include=deployment`` adds each one's deployment summary."""
    body = await run_in_threadpool(_listing, platform, include)  # large lists: off the loop
    return Response(body, media_type="application/json")


def _listing(platform: Platform, include: str) -> bytes:
    with_deployment = "deployment" in include.split(",")
    views = platform.oscar.service_views
    return (
        b"["
        + b",".join(views.wire_json(record, with_deployment) for record in platform.services.list())
        + b"]"
    )


@router.get("/services/{name}", responses=ONE_SERVICE)
async def get_service(name: str, platform: PlatformDep, include: str = "") -> JSONResponse:
    record = await run_in_threadpool(platform.services.get, name)
    return JSONResponse(await run_in_threadpool(_wire, platform, record, include))


@router.delete("/services/{name}", status_code=204, responses={404: {"description": "Unknown."}})
async def delete_service(name: str, platform: PlatformDep) -> Response:
    await run_in_threadpool(platform.services.delete, name)
    return Response(status_code=204)
