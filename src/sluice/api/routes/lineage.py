"""``/system/lineage``: the chain of files and jobs behind an object; ``/system/outbox``: what
waits for another cluster (store-and-forward)."""

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from sluice.api.auth import AdminOnly, PlatformDep

router = APIRouter(prefix="/system", dependencies=[AdminOnly], tags=["continuum"])


@router.get("/lineage")
async def lineage(platform: PlatformDep, path: str, store: str = "") -> dict[str, Any]:
    """The objects and jobs that led to ``path`` (``bucket/key``) in ``store`` (an S3
    endpoint; this cluster's own store when empty), as far as this cluster knows them."""
    return await run_in_threadpool(platform.continuum.lineage.trace, path, store)


@router.get("/outbox")
async def outbox(platform: PlatformDep) -> dict[str, Any]:
    """How many outputs and delegated jobs wait for another cluster, and were delivered."""
    box = platform.continuum.forwarder.outbox
    counts = await run_in_threadpool(box.counts)
    waiting = await run_in_threadpool(box.listing)
    return {**counts, "entries": waiting}
