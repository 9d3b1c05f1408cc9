"""``/system/services/{name}/deployment[/logs]`` and the exposed-service lifecycle routes."""

import re
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep
from sluice.errors import Invalid

_TAIL_LINES = re.compile(r"-?[0-9]{1,18}")

router = APIRouter(prefix="/system/services", dependencies=[AdminOnly], tags=["deployment"])


@router.get("/{name}/deployment")
async def deployment(name: str, platform: PlatformDep) -> dict[str, Any]:
    """The service's runtime in OSCAR's states (pending, ready, degraded, failed, …)."""
    record = await run_in_threadpool(platform.services.get, name)
    return await run_in_threadpool(platform.oscar.deployments.status, record.service)


@router.get("/{name}/deployment/logs")
async def deployment_logs(
    name: str, platform: PlatformDep, timestamps: bool = False, tailLines: str = "200"
) -> dict[str, Any]:
    """The last lines (``tailLines``, at most 1000) of the service's latest jobs."""
    record = await run_in_threadpool(platform.services.get, name)
    # Anything but a plain number means the default, as before; isdigit() took "²" too.
    tail = int(tailLines) if _TAIL_LINES.fullmatch(tailLines.strip()) else 0
    return await run_in_threadpool(
        platform.oscar.deployments.logs, record.service, timestamps, tail
    )


@router.post("/{name}/stop")
@router.post("/{name}/start")
@router.post("/{name}/restart")
async def lifecycle(name: str, platform: PlatformDep) -> dict[str, Any]:
    """Only exposed services can be stopped, started or restarted; Sluice runs none."""
    await run_in_threadpool(platform.services.get, name)
    raise Invalid(f"service {name!r} is not exposed")
