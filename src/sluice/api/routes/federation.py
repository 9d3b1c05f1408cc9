"""``/system/federation/{service}`` (OSCAR v4.1): a service's replicas on other clusters."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep
from sluice.api.body import read_json

router = APIRouter(prefix="/system", dependencies=[AdminOnly], tags=["federation"])


@router.get("/federation/{service}")
async def get_federation(service: str, platform: PlatformDep) -> dict[str, Any]:
    """``{topology, group_id, delegation, members}``: the replicas, best first."""
    return await run_in_threadpool(platform.continuum.federation.get, service)


@router.post("/federation/{service}")
@router.put("/federation/{service}")
@router.delete("/federation/{service}")
async def change_federation(
    service: str, request: Request, platform: PlatformDep
) -> dict[str, Any]:
    """POST adds ``members``; PUT replaces the matching members with ``update[0]``; DELETE
    removes ``members``. Answers the new topology."""
    body = await read_json(request, "the federation change")
    change = platform.continuum.federation.change
    return await run_in_threadpool(change, service, request.method, body)
