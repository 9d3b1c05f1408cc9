"""Jobs: one run of a service's script for one input, and their states."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path


class JobStatus(StrEnum):
    """OSCAR's job states (Kubernetes pod phases)."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class ObjectRef:
    """The stored object that triggered a job."""

    provider: str  # "minio.default"
    bucket: str
    key: str
    etag: str

    def dedupe_key(self, service: str) -> str:
        return f"{service}|{self.provider}|{self.bucket}|{self.key}|{self.etag}"


@dataclass(frozen=True)
class Job:
    id: str
    service: str
    status: JobStatus
    source: ObjectRef | None
    payload: bytes | None
    attempts: int
    max_attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    exit_code: int | None
    reason: str
    dead: bool
    payload_file: Path | None = None  # a large body, kept in a file instead of ``payload``

    @classmethod
    def running(
        cls, id: str, service: str, source: ObjectRef | None, payload: bytes | None
    ) -> "Job":
        """A job as one attempt outside the ledger sees it (a supervisor in a pod, a test)."""
        return cls(
            id=id,
            service=service,
            status=JobStatus.RUNNING,
            source=source,
            payload=payload,
            attempts=1,
            max_attempts=1,
            created_at=datetime.now(UTC),
            started_at=None,
            finished_at=None,
            exit_code=None,
            reason="",
            dead=False,
        )


def new_job_id(service: str) -> str:
    """OSCAR's job names: the service name (cut to 16 characters when long) and a UUID."""
    prefix = service[:16] if len(service) >= 25 else service
    return f"{prefix}-{uuid.uuid4()}"
