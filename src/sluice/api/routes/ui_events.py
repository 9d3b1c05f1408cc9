"""The web UI's live and summary views: job events as server-sent events, services with their
job counts, a service's latest jobs, the workflow graph and recent throughput."""

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep
from sluice.api.ports import Platform
from sluice.core.job_events import JobEvent
from sluice.core.ui_views import job_counts, job_row, throughput, workflow_graph

router = APIRouter(prefix="/ui/api", dependencies=[AdminOnly], include_in_schema=False)
KEEP_ALIVE = 5.0  # seconds between comments on a quiet stream (also how soon a gone client ends)
LATEST_JOBS = 200


@router.get("/events")
async def events(request: Request, platform: PlatformDep, service: str = "") -> StreamingResponse:
    """Job state changes as ``event: job`` lines; ``ready`` once listening (load the list
    then), ``resync`` when events were lost (load it again)."""
    return StreamingResponse(
        _stream(request, platform, service or None),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(request: Request, platform: Platform, service: str | None) -> AsyncIterator[str]:
    async with platform.jobs.events.subscribe(service) as subscription:
        yield "retry: 2000\nevent: ready\ndata: {}\n\n"
        while not await request.is_disconnected():
            event = await subscription.next(timeout=KEEP_ALIVE)
            if subscription.take_dropped():
                yield "event: resync\ndata: {}\n\n"
            yield ": quiet\n\n" if event is None else f"event: job\ndata: {_event(event)}\n\n"


def _event(event: JobEvent) -> str:
    return json.dumps(
        {
            "service": event.service,
            "job": event.job,
            "status": event.status.value,
            "attempts": event.attempts,
            "reason": event.reason,
            "dead": event.dead,
            "at": event.at,
        }
    )


@router.get("/services")
async def services(platform: PlatformDep) -> list[dict[str, Any]]:
    """Every service with its deployment state and how many of its jobs are in each state."""
    return await run_in_threadpool(_services, platform)


def _services(platform: Platform) -> list[dict[str, Any]]:
    rows = []
    for record in platform.services.list():
        service = record.service
        rows.append(
            {
                "name": service.name,
                "kind": "handler" if service.handler else "script",
                "image": service.image,
                "inputs": [f"{i.storage_provider}:{i.path}" for i in service.input],
                "outputs": [f"{o.storage_provider}:{o.path}" for o in service.output],
                "deployment": platform.oscar.deployments.summary(service),
                "jobs": job_counts(platform.jobs.ledger, service.name),
            }
        )
    return rows


@router.get("/jobs/{service}")
async def latest_jobs(service: str, platform: PlatformDep) -> dict[str, Any]:
    """The service's latest jobs, newest first, and its counts."""
    return await run_in_threadpool(_latest, platform, service)


def _latest(platform: Platform, service: str) -> dict[str, Any]:
    platform.services.get(service)
    ledger = platform.jobs.ledger
    first = ledger.page(service, "", 1)
    total = len(first.jobs) + first.remaining
    page = ledger.page(service, str(max(0, total - LATEST_JOBS)), LATEST_JOBS)
    return {
        "jobs": [job_row(job) for job in reversed(page.jobs)],
        "counts": job_counts(ledger, service),
    }


@router.get("/workflow")
async def workflow(platform: PlatformDep) -> dict[str, Any]:
    return await run_in_threadpool(_workflow, platform)


def _workflow(platform: Platform) -> dict[str, Any]:
    services = [record.service for record in platform.services.list()]
    return workflow_graph(services, lambda name: job_counts(platform.jobs.ledger, name))


@router.get("/throughput")
async def recent_throughput(platform: PlatformDep) -> list[dict[str, Any]]:
    """Jobs finished and requests received per minute over the last ten minutes."""
    return await run_in_threadpool(throughput, platform.oscar.metrics)
