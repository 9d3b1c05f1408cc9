"""Health, cluster information, object-store configuration and status."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep
from sluice.api.ports import Platform
from sluice.core import cluster
from sluice.core.status import cluster_status

public = APIRouter(tags=["system"])
router = APIRouter(prefix="/system", dependencies=[AdminOnly], tags=["system"])


@public.get("/health", response_model=None)
async def health(platform: PlatformDep, detail: bool = False) -> PlainTextResponse | JSONResponse:
    """``Ok`` while the manager serves (a liveness probe). ``detail=true``: whether every
    background loop is healthy and jobs can run (room on the data disk, the store up)."""
    if not detail:
        return PlainTextResponse("Ok")
    loops = {name: loop["state"] for name, loop in platform.loops.report().items()}
    paused = bool(platform.jobs.paused())
    degraded = paused or any(state == "failing" for state in loops.values())
    body = {"status": "degraded" if degraded else "ok", "loops": loops, "jobs_paused": paused}
    return JSONResponse(body)


@router.get("/info")
async def info() -> dict[str, Any]:
    """OSCAR's info; ``version`` is the OSCAR API level Sluice implements."""
    return cluster.info()


@router.get("/config")
@router.get("/config/", include_in_schema=False)
async def config(platform: PlatformDep) -> dict[str, Any]:
    """OSCAR's cluster configuration; ``minio_provider`` is the object store Sluice uses."""
    return cluster.config(platform.settings, platform.object_store)


@router.get("/status")
async def status(platform: PlatformDep) -> dict[str, Any]:
    """OSCAR v4's status for a single-node Sluice (CPU in millicores, memory in bytes), and
    Sluice's own health under ``sluice``."""
    body = await run_in_threadpool(cluster_status, platform.oscar.status)
    body["sluice"] = _sluice_status(platform)
    return body


def _sluice_status(platform: Platform) -> dict[str, Any]:
    """Sluice's own health: each background loop, and the data disk."""
    return {"loops": platform.loops.report(), "jobs_paused": platform.jobs.paused()}
