"""``GET /system/logs``: OSCAR's execution log of ``/run`` and ``/job`` calls."""

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep
from sluice.core.execution_log import go_duration, log_line
from sluice.state.executions import Execution

router = APIRouter(prefix="/system", dependencies=[AdminOnly], tags=["logs"])


@router.get("/logs")
@router.get("/logs/", include_in_schema=False)
async def execution_log(
    platform: PlatformDep, timestamps: bool = False, previous: bool = False
) -> dict[str, Any]:
    """The calls since this manager started (``previous=true``: those before), oldest first."""
    entries = await run_in_threadpool(platform.oscar.executions.entries, previous)
    return {"logs": [_entry(entry, timestamps) for entry in entries]}


def _entry(entry: Execution, timestamps: bool) -> dict[str, Any]:
    stamp = entry.at.isoformat().replace("+00:00", "Z")
    raw = log_line(entry)
    return {
        "timestamp": stamp,
        "status": entry.status,
        "latency": go_duration(entry.latency),
        "client_ip": entry.client_ip,
        "method": entry.method,
        "path": entry.path,
        "user": entry.user,
        "raw": f"{stamp} {raw}" if timestamps else raw,
    }
