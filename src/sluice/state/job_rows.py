"""Rows of the job ledger as jobs, and pages of them."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sluice.domain.job import Job, JobStatus, ObjectRef
from sluice.errors import Invalid

PAGE_SIZE = 70  # OSCAR's JOB_LISTING_LIMIT
MAX_PAGE_DIGITS = 15
_PAGE_TOKEN = re.compile(rf"[0-9]{{1,{MAX_PAGE_DIGITS}}}")


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    next_page: str
    remaining: int


def page_offset(page: str) -> int:
    """A page token is the offset this server returned: ASCII digits only (``str.isdigit``
    takes "²" too), and small enough for the database (SQLite offsets are 64-bit)."""
    if not page:
        return 0
    if not _PAGE_TOKEN.fullmatch(page):
        raise Invalid(
            f"page: {page[:40]!r} is not a page token returned by this server "
            f"(a whole number of at most {MAX_PAGE_DIGITS} digits)"
        )
    return int(page)


def to_job(row: Any, payloads: Path | None = None) -> Job:
    source = None
    if row["bucket"] is not None:
        source = ObjectRef(row["provider"], row["bucket"], row["object_key"], row["etag"] or "")
    return Job(
        id=row["id"],
        service=row["service"],
        status=JobStatus(row["status"]),
        source=source,
        payload=row.get("payload"),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        created_at=utc(row["created_at"]) or row["created_at"],
        started_at=utc(row["started_at"]),
        finished_at=utc(row["finished_at"]),
        exit_code=row["exit_code"],
        reason=row["reason"],
        dead=bool(row["dead"]),
        payload_file=payloads / row["payload_file"] if payloads and row["payload_file"] else None,
    )


def utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo:
        return value
    return value.replace(tzinfo=UTC)
