"""``/system/buckets``: OSCAR's bucket API (create, list, inspect, change, delete, presign)."""

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep
from sluice.api.body import read_json
from sluice.core.buckets import BucketContents, BucketView, PresignedUrl
from sluice.domain.bucket import BucketRequest, PresignRequest

router = APIRouter(prefix="/system", dependencies=[AdminOnly], tags=["buckets"])


def _body(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post("/buckets", status_code=201, openapi_extra=_body(BucketRequest))
async def create_bucket(request: Request, platform: PlatformDep) -> Response:
    """Create a bucket (and a folder in it with `bucket/folder`). 400 if it exists."""
    payload = await read_json(request, "the bucket")
    await run_in_threadpool(platform.oscar.buckets.create, payload)
    return Response(status_code=201)


@router.get("/buckets")
async def list_buckets(platform: PlatformDep) -> list[dict[str, Any]]:
    views = await run_in_threadpool(platform.oscar.buckets.list)
    return [_bucket(view) for view in views]


@router.get("/buckets/{bucket}")
async def get_bucket(
    bucket: str, platform: PlatformDep, page: str = "", limit: int = 70
) -> dict[str, Any]:
    """The bucket and one page of its objects; pass ``next_page`` as ``page`` for the next."""
    contents = await run_in_threadpool(platform.oscar.buckets.contents, bucket, page, limit)
    return _contents(contents)


@router.put("/buckets", status_code=204, openapi_extra=_body(BucketRequest))
async def update_bucket(request: Request, platform: PlatformDep) -> Response:
    """Change the visibility, allowed users or metadata of the bucket named in the body."""
    payload = await read_json(request, "the bucket")
    await run_in_threadpool(platform.oscar.buckets.update, payload)
    return Response(status_code=204)


@router.delete("/buckets/{bucket}", status_code=204)
async def delete_bucket(bucket: str, platform: PlatformDep) -> Response:
    """Delete the bucket and every object in it."""
    await run_in_threadpool(platform.oscar.buckets.delete, bucket)
    return Response(status_code=204)


@router.post("/buckets/{bucket}/presign", openapi_extra=_body(PresignRequest))
async def presign(bucket: str, request: Request, platform: PlatformDep) -> dict[str, Any]:
    """A URL anyone can use to upload (PUT) or download (GET) one object until it expires."""
    payload = await read_json(request, "the presign request")
    url = await run_in_threadpool(platform.oscar.buckets.presign, bucket, payload)
    return _presigned(url)


def _bucket(view: BucketView) -> dict[str, Any]:
    return {
        "bucket_name": view.name,
        "visibility": view.visibility,
        "allowed_users": view.allowed_users,
        "owner": view.owner,
        "metadata": view.metadata,
    }


def _contents(contents: BucketContents) -> dict[str, Any]:
    page = contents.page
    body = _bucket(contents.bucket)
    body["objects"] = [
        {
            "object_name": item.path.split("/", 1)[1],
            "size_bytes": item.size,
            "last_modified": item.last_modified.isoformat().replace("+00:00", "Z"),
        }
        for item in page.objects
    ]
    if page.next_token:
        body["next_page"] = page.next_token
    body["is_truncated"] = page.truncated
    body["returned_items"] = len(page.objects)
    return body


def _presigned(url: PresignedUrl) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object_key": url.object_key,
        "operation": url.operation,
        "method": url.method,
        "url": url.url,
        "expires_at": url.expires_at.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }
    if url.headers:
        body["headers"] = url.headers
    return body
