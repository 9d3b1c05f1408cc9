"""Notifications from the embedded SeaweedFS filer (one webhook for the whole store)."""

import asyncio
import logging
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import PlatformDep
from sluice.api.body import parse_json
from sluice.api.ports import Platform
from sluice.domain.parts import DEFAULT_PROVIDER
from sluice.errors import Invalid
from sluice.storage import parse_webhook_event

log = logging.getLogger(__name__)
router = APIRouter(tags=["events"])

_ENTRY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "is_directory": {"type": "boolean"},
        "chunks": {"type": "array", "items": {"type": "object"}},
        "attributes": {
            "type": "object",
            "properties": {"file_size": {"type": "integer"}, "md5": {"type": "string"}},
        },
        "extended": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
EVENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A SeaweedFS filer notification, as its webhook sends it.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "event_type": {
                            "type": "string",
                            "enum": ["create", "update", "delete", "rename"],
                        },
                        "key": {"type": "string", "example": "/buckets/inbox/in/photo.jpg"},
                        "message": {
                            "type": "object",
                            "properties": {
                                "new_parent_path": {"type": "string"},
                                "new_entry": _ENTRY,
                                "old_entry": _ENTRY,
                            },
                        },
                    },
                }
            }
        },
    }
}


@router.post("/events/seaweedfs", response_class=PlainTextResponse, openapi_extra=EVENT_BODY)
async def seaweedfs_event(request: Request, platform: PlatformDep) -> PlainTextResponse:
    """Internal: the object store reports a change; every service watching the path gets a job.
    (``StoreEvents`` answers this path before the app's routing; the same steps run here.)"""
    client = request.client.host if request.client else ""
    authorization = request.headers.get("authorization", "")
    status, text = await take_store_event(platform, authorization, await request.body(), client)
    return PlainTextResponse(text, status_code=status)


async def take_store_event(
    platform: Platform, authorization: str, raw: bytes, client: str
) -> tuple[int, str]:
    """The webhook's answer (status, text) to one notification: jobs are in the ledger before
    it is given, so the store sends again whatever was not answered with 200."""
    scheme, _, token = authorization.partition(" ")
    expected = platform.webhook_token
    if not expected or scheme.lower() != "bearer" or not secrets.compare_digest(token, expected):
        return 401, "invalid webhook token"
    try:
        body = parse_json(raw, "event body")
    except Invalid as exc:
        return 400, str(exc)
    event = parse_webhook_event(body) if isinstance(body, dict) else None
    if event is None or platform.router.unwatched(DEFAULT_PROVIDER, event.bucket, event.key):
        return 200, "ignored"  # most often a job's own output: no thread, no database
    router, where = platform.router, (DEFAULT_PROVIDER, event.bucket, event.key, event.etag)
    if router.knows_watchers():  # nothing to read: the jobs are queued from here
        pending = router.route_soon(*where, event.size)
    else:
        pending = await run_in_threadpool(router.route_soon, *where, event.size)
    # Waiting for the commit on the loop itself: no thread is held or woken for it.
    stored = await asyncio.gather(*(asyncio.wrap_future(done) for done in pending))
    jobs = [job for job in stored if job is not None]
    platform.oscar.executions.record_storage_jobs(jobs, client)
    return 200, f"{len(jobs)} job(s)"
