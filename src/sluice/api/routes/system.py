"""Health, cluster information, object-store configuration and status."""

import platform as host
from typing import Any

import psutil
from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

import sluice
from sluice.api.auth import AdminOnly, PlatformDep
from sluice.api.ports import Platform

public = APIRouter(tags=["system"])
router = APIRouter(prefix="/system", dependencies=[AdminOnly], tags=["system"])


@public.get("/health", response_model=None)
async def health(platform: PlatformDep, detail: bool = False) -> PlainTextResponse | JSONResponse:
    """``Ok`` while the manager serves (a liveness probe). ``detail=true``: whether every
    background loop is healthy and the data disk has room, without internals."""
    if not detail:
        return PlainTextResponse("Ok")
    loops = {name: loop["state"] for name, loop in platform.loops.report().items()}
    disk_full = bool(platform.jobs.disk_full())
    degraded = disk_full or any(state == "failing" for state in loops.values())
    body = {"status": "degraded" if degraded else "ok", "loops": loops, "disk_full": disk_full}
    return JSONResponse(body)


@router.get("/info")
async def info() -> dict[str, Any]:
    return {
        "version": sluice.__version__,
        "git_commit": "",
        "architecture": host.machine(),
        "kubernetes_version": "",
    }


@router.get("/config")
@router.get("/config/", include_in_schema=False)
async def config(platform: PlatformDep) -> JSONResponse:
    """OSCAR's cluster configuration; ``minio_provider`` is the object store Sluice uses."""
    store = platform.object_store
    return JSONResponse(
        {
            "config": {
                "name": "sluice",
                "namespace": "sluice",
                "services_namespace": "sluice",
                "gpu_available": False,
                "interLink_available": False,
                "yunikorn_enable": False,
                "kueue_enable": False,
                "volume_enable": False,
                "oidc_groups": [],
                "minio_quota_enabled": False,
            },
            "minio_provider": {
                "endpoint": store.endpoint,
                "verify": store.verify,
                "access_key": store.access_key,
                "secret_key": store.secret_key,
                "region": store.region or "us-east-1",
            },
            "allowed_image_repositories": [],
        }
    )


@router.get("/status")
def status(platform: PlatformDep) -> dict[str, Any]:
    """OSCAR v4's status shape for a single-node Sluice (CPU in millicores, memory in bytes).
    A plain function: FastAPI runs it on a thread, off the event loop (it reads the database)."""
    jobs = platform.jobs.ledger.counts()
    capacity = platform.capacity
    cores = psutil.cpu_count() or 1
    memory = psutil.virtual_memory()
    free_milli = int(cores * 1000 * (1 - psutil.cpu_percent(interval=None) / 100))
    return {
        "cluster": {
            "nodes_count": 1,
            "metrics": {
                "cpu": {
                    "total_free_cores": free_milli,
                    "max_free_on_node_cores": free_milli,
                    "total_schedulable_cores": cores * 1000,
                    "total_schedulable_on_node_cores": cores * 1000,
                },
                "memory": {
                    "total_free_bytes": memory.available,
                    "max_free_on_node_bytes": memory.available,
                    "total_schedulable_bytes": memory.total,
                    "max_schedulable_on_node_bytes": memory.total,
                },
                "gpu": {"total_gpu": 0},
            },
        },
        "sluice": _sluice_status(platform),
        "oscar": {
            "deployment_name": "sluice",
            "ready": True,
            "services_count": len(platform.services.list()),
            "jobs_count": sum(jobs.values()),
            "jobs": jobs,
            "capacity": {
                "cpu_cores": {"total": capacity.total_cpu, "used": capacity.used_cpu},
                "memory_bytes": {"total": capacity.total_memory, "used": capacity.used_memory},
            },
        },
    }


def _sluice_status(platform: Platform) -> dict[str, Any]:
    """Sluice's own health: each background loop, and the data disk."""
    return {"loops": platform.loops.report(), "disk_full": platform.jobs.disk_full()}
