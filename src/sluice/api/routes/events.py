"""Notifications from the embedded SeaweedFS filer (one webhook for the whole store)."""

import json
import logging
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import BearerCredentials, PlatformDep
from sluice.domain.parts import DEFAULT_PROVIDER
from sluice.errors import Invalid
from sluice.storage import parse_webhook_event

log = logging.getLogger(__name__)
router = APIRouter(tags=["events"])


@router.post("/events/seaweedfs", response_class=PlainTextResponse)
async def seaweedfs_event(
    request: Request, platform: PlatformDep, bearer: BearerCredentials
) -> str:
    """Internal: the object store reports a change; every service watching the path gets a job."""
    token = bearer.credentials if bearer else ""
    if not platform.webhook_token or not secrets.compare_digest(token, platform.webhook_token):
        raise HTTPException(401, "invalid webhook token")
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise Invalid("event body is not JSON") from None
    event = parse_webhook_event(body) if isinstance(body, dict) else None
    if event is None or platform.router.unwatched(DEFAULT_PROVIDER, event.bucket, event.key):
        return "ignored"  # most often a job's own output: no thread, no database
    jobs = await run_in_threadpool(
        platform.router.route, DEFAULT_PROVIDER, event.bucket, event.key, event.etag, event.size
    )
    client = request.client.host if request.client else ""
    platform.oscar.executions.record_storage_jobs(jobs, client)
    return f"{len(jobs)} job(s)"
