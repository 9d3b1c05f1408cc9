"""Notifications from the embedded SeaweedFS filer (one webhook for the whole store)."""

import logging
import secrets
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import BearerCredentials, PlatformDep
from sluice.api.body import parse_json
from sluice.domain.parts import DEFAULT_PROVIDER
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
async def seaweedfs_event(
    request: Request, platform: PlatformDep, bearer: BearerCredentials
) -> str:
    """Internal: the object store reports a change; every service watching the path gets a job."""
    token = bearer.credentials if bearer else ""
    if not platform.webhook_token or not secrets.compare_digest(token, platform.webhook_token):
        raise HTTPException(401, "invalid webhook token")
    body = parse_json(await request.body(), "event body")
    event = parse_webhook_event(body) if isinstance(body, dict) else None
    if event is None or platform.router.unwatched(DEFAULT_PROVIDER, event.bucket, event.key):
        return "ignored"  # most often a job's own output: no thread, no database
    jobs = await run_in_threadpool(
        platform.router.route, DEFAULT_PROVIDER, event.bucket, event.key, event.etag, event.size
    )
    client = request.client.host if request.client else ""
    platform.oscar.executions.record_storage_jobs(jobs, client)
    return f"{len(jobs)} job(s)"
