"""``GET /system/services/{name}/auth``: OSCAR's check that a caller may use a service."""

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import BasicCredentials, BearerCredentials, PlatformDep, require_service_caller

router = APIRouter(prefix="/system/services", tags=["services"])


@router.get("/{name}/auth", status_code=200)
async def authorize(
    name: str,
    request: Request,
    platform: PlatformDep,
    basic: BasicCredentials,
    bearer: BearerCredentials,
    token: str = "",
) -> Response:
    """200 for the admin or the service's token (``Authorization: Bearer`` or ``?token=``)."""
    await run_in_threadpool(platform.services.get, name)
    if not (token and platform.services.token_matches(name, token)):
        await require_service_caller(name, request, platform, basic, bearer)
    return Response(status_code=200)
