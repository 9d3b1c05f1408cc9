"""``/system/logs``: OSCAR's job listing and logs, plus Sluice's dead letters and retries."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep
from sluice.domain.job import Job, JobStatus

router = APIRouter(prefix="/system", dependencies=[AdminOnly], tags=["logs"])


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _info(job: Job) -> dict[str, Any]:
    info = {
        "status": job.status.value,
        "creation_time": _time(job.created_at),
        "start_time": _time(job.started_at),
        "finish_time": _time(job.finished_at),
    }
    return {key: value for key, value in info.items() if value is not None}


def _detail(job: Job, waiting: str = "") -> dict[str, Any]:
    source = job.source
    return {
        "name": job.id,
        **_info(job),
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "dead_letter": job.dead,
        "exit_code": job.exit_code,
        "reason": job.reason or (waiting if job.status is JobStatus.PENDING else ""),
        "input": f"{source.provider}:{source.bucket}/{source.key}" if source else None,
    }


@router.get("/logs/{service}")
async def list_jobs(service: str, platform: PlatformDep, page: str = "") -> dict[str, Any]:
    """Jobs of a service, 70 a page: ``{jobs: {name: {status, …}}, next_page, remaining_jobs}``."""
    await run_in_threadpool(platform.services.get, service)
    result = await run_in_threadpool(platform.jobs.ledger.page, service, page)
    return {
        "jobs": {job.id: _info(job) for job in result.jobs},
        "next_page": result.next_page,
        "remaining_jobs": result.remaining,
    }


@router.get("/logs/{service}/{job}", response_class=PlainTextResponse)
async def job_log(service: str, job: str, platform: PlatformDep) -> str:
    """The log of one job: the supervisor's lines and the script's output (live while running)."""
    return await run_in_threadpool(platform.jobs.log_of, service, job)


@router.delete("/logs/{service}", status_code=204)
async def delete_jobs(service: str, platform: PlatformDep, all: bool = False) -> Response:
    """Delete the logs of succeeded jobs, or of every finished job with ``all=true``."""
    await run_in_threadpool(platform.services.get, service)
    await run_in_threadpool(lambda: platform.jobs.ledger.hide(service, all_states=all))
    return Response(status_code=204)


@router.delete("/logs/{service}/{job}", status_code=204)
async def delete_job(service: str, job: str, platform: PlatformDep) -> Response:
    await run_in_threadpool(platform.jobs.ledger.hide, service, job)
    return Response(status_code=204)


@router.get("/jobs/{service}")
async def job_details(
    service: str, platform: PlatformDep, page: str = "", dead: bool = False
) -> dict[str, Any]:
    """Sluice: jobs with attempts, exit codes and reasons; ``dead=true`` lists dead letters."""
    record = await run_in_threadpool(platform.services.get, service)
    result = await run_in_threadpool(lambda: platform.jobs.ledger.page(service, page, dead=dead))
    waiting = platform.jobs.why_waiting(record.service)
    return {
        "jobs": [_detail(job, waiting) for job in result.jobs],
        "next_page": result.next_page,
        "remaining_jobs": result.remaining,
    }


@router.post("/jobs/{service}/{job}/retry")
async def retry_job(service: str, job: str, platform: PlatformDep) -> dict[str, Any]:
    """Sluice: run a dead letter again from its first attempt."""
    retried = await run_in_threadpool(platform.jobs.retry, service, job)
    return _detail(retried)
