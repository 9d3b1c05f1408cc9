"""``/system/metrics``: OSCAR's usage metrics (errors are JSON ``{"error": ...}``, as OSCAR's)."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep
from sluice.core.metrics import MetricsQueryError, breakdown_csv, parse_range

router = APIRouter(prefix="/system/metrics", dependencies=[AdminOnly], tags=["metrics"])


@router.get("")
async def summary(platform: PlatformDep, start: str = "", end: str = "") -> Response:
    """Totals for the range (default: the last 24 hours)."""
    return await _answer(lambda: platform.oscar.metrics.summary(parse_range(start, end)))


@router.get("/breakdown")
async def breakdown(
    platform: PlatformDep,
    group_by: str = "",
    include_users: bool = False,
    output: str = Query("json", alias="format"),
    start: str = "",
    end: str = "",
) -> Response:
    """Requests per service, user or country; ``format=csv`` for a spreadsheet."""
    kind = output.strip().lower()

    def compute() -> Any:
        if kind not in ("json", "csv"):
            raise MetricsQueryError("invalid format")
        window = parse_range(start, end)
        result = platform.oscar.metrics.breakdown(window, group_by, include_users)
        if kind == "csv":
            return Response(breakdown_csv(result, include_users), media_type="text/csv")
        return result

    return await _answer(compute)


@router.get("/{service}")
async def service_metrics(
    service: str, platform: PlatformDep, metric: str = "", start: str = "", end: str = ""
) -> Response:
    """One metric of a service with ``metric=``, else all of its per-service metrics."""
    metrics = platform.oscar.metrics

    def compute() -> dict[str, Any]:
        window = parse_range(start, end)
        if metric.strip():
            return metrics.service_value(service, metric.strip(), window)
        return metrics.service_values(service, window)

    return await _answer(compute)


async def _answer(compute: Callable[[], Any]) -> Response:
    try:
        result = await run_in_threadpool(compute)
    except MetricsQueryError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return result if isinstance(result, Response) else JSONResponse(result)
