"""``POST /job/{service}`` (asynchronous) and ``POST /run/{service}`` (synchronous)."""

import json
from typing import Any

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import PlatformDep, ServiceCaller
from sluice.api.body import discard, receive_body
from sluice.api.ports import Platform
from sluice.core.delegation import FROM_HEADER, JOB_ID_HEADER
from sluice.datadir import DataDir
from sluice.domain.job import ObjectRef
from sluice.domain.parts import DEFAULT_PROVIDER
from sluice.errors import Invalid
from sluice.supervisor.body import Body, is_blank
from sluice.triggers.s3_events import (
    MAX_OBJECT_SIZE,
    MAX_RECORDS,
    STORAGE_SOURCES,
    is_storage_event,
    parse_storage_event,
    storage_event,
)

router = APIRouter(tags=["invocation"])

JOB_HEADER = "X-Sluice-Job"

# The routes read their bodies themselves (any bytes are an input); these describe them in
# /openapi.json, so clients and the fuzz suite know what to send.
_RAW: dict[str, Any] = {
    "schema": {"type": "string", "format": "binary"},
}
_S3_EVENT: dict[str, Any] = {
    "type": "object",
    "description": "An S3/MinIO event notification: each ObjectCreated record starts a job.",
    "required": ["Records"],
    "properties": {
        "Records": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_RECORDS,
            "items": {
                "type": "object",
                "required": ["eventSource", "eventName", "s3"],
                "properties": {
                    "eventSource": {"type": "string", "enum": list(STORAGE_SOURCES)},
                    "eventName": {"type": "string", "example": "s3:ObjectCreated:Put"},
                    "eventTime": {"type": "string", "format": "date-time"},
                    "s3": {
                        "type": "object",
                        "required": ["bucket", "object"],
                        "properties": {
                            "bucket": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}},
                            },
                            "object": {
                                "type": "object",
                                "required": ["key"],
                                "properties": {
                                    "key": {"type": "string", "description": "URL-encoded."},
                                    "size": {
                                        "type": "integer",
                                        "minimum": 0,
                                        "maximum": MAX_OBJECT_SIZE,
                                    },
                                    "eTag": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}
JOB_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "An S3/MinIO event (JSON), or the job's input file (base64 or raw bytes).",
        "content": {
            "application/json": {"schema": _S3_EVENT},
            "application/octet-stream": _RAW,
        },
    }
}
RUN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The input file of the call: base64, raw bytes or JSON.",
        "content": {"application/octet-stream": _RAW, "application/json": {"schema": {}}},
    }
}


@router.post(
    "/job/{service}", status_code=201, dependencies=[ServiceCaller], openapi_extra=JOB_BODY
)
async def create_job(service: str, request: Request, platform: PlatformDep) -> Response:
    """Start a job. An S3/MinIO event notification runs the service on the objects it names;
    any other body (base64 or raw bytes) becomes the job's input file."""
    record = await run_in_threadpool(platform.services.get, service)
    body = await _receive(request, platform)
    try:
        if await run_in_threadpool(is_blank, body):
            raise Invalid(
                "the request body is empty: send the input (base64 or raw) or an S3 event"
            )
        parsed = _json_or_none(body) if isinstance(body, bytes) else None
        origin = request.headers.get(FROM_HEADER)
        if origin is not None and isinstance(parsed, dict) and isinstance(parsed.get("event"), str):
            job_id = request.headers.get(JOB_ID_HEADER, "")
            ids = await run_in_threadpool(
                _submit_delegated, platform, record.service, parsed, origin, job_id
            )
        elif isinstance(parsed, dict) and is_storage_event(parsed):
            ids = await run_in_threadpool(_submit_objects, platform, record.service, parsed)
        else:
            job = await run_in_threadpool(platform.jobs.submit_payload, record.service, body)
            ids = [job.id]
    finally:
        discard(body)  # a spooled body was moved into the ledger, or is not needed
    return Response(status_code=201, headers={JOB_HEADER: ",".join(ids)})


def calls_limiter(app: Any, size: int) -> CapacityLimiter:
    limiter: CapacityLimiter | None = getattr(app.state, "calls_limiter", None)
    if limiter is None:
        limiter = app.state.calls_limiter = CapacityLimiter(size)
    return limiter


async def _receive(request: Request, platform: Platform) -> Body:
    settings = platform.settings
    return await receive_body(request, DataDir(settings.data_dir).spool, settings.max_body_bytes)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested thousands of levels deep
        return None


def _submit_objects(platform: Platform, service: Any, event: dict[str, Any]) -> list[str]:
    ids = []
    for obj in parse_storage_event(event):
        ref = ObjectRef(DEFAULT_PROVIDER, obj.bucket, obj.key, obj.etag)
        job = platform.jobs.submit_object(
            service, ref, storage_event(ref, obj.size, obj.event_time)
        )
        if job is not None:
            ids.append(job.id)
    return ids


def _submit_delegated(
    platform: Platform, service: Any, wrapper: dict[str, Any], origin: str, origin_job: str
) -> list[str]:
    """Another cluster's job, delegated here: its input is read from that cluster's store
    (``storage_providers.minio.<its id>``). A repeat of the same event makes no new job."""
    ident = str(wrapper.get("storage_provider") or origin).rpartition(".")[2]
    if ident == "default":
        ident = origin
    event = _json_or_none(wrapper["event"].encode())
    if isinstance(event, dict) and is_storage_event(event):
        ids = []
        for obj in parse_storage_event(event):
            ref = ObjectRef(f"minio.{ident}", obj.bucket, obj.key, obj.etag)
            job = platform.jobs.submit_object(service, ref, wrapper["event"].encode())
            if job is not None:
                ids.append(job.id)
    else:
        ids = [platform.jobs.submit_payload(service, wrapper["event"].encode()).id]
    platform.continuum.delegator.received(service.name, ids, origin, origin_job)
    return ids


@router.post("/run/{service}", dependencies=[ServiceCaller], openapi_extra=RUN_BODY)
async def run_service(service: str, request: Request, platform: PlatformDep) -> Response:
    """Run the service now. The body (base64-decoded when it is base64) is the input file; the
    answer is the single output file base64-encoded, several zipped then base64-encoded, or
    the script's output text. 504 when it takes longer than the service's timeout."""
    body = await _receive(request, platform)
    try:
        # Calls run on threads of their own, so long ones never starve the other routes.
        limiter = calls_limiter(request.app, platform.settings.max_running_calls)
        result = await to_thread.run_sync(platform.invocations.run, service, body, limiter=limiter)
    finally:
        discard(body)
    return Response(result.body, status_code=result.status, media_type="text/plain")
