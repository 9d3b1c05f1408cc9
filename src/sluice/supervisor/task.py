"""What one run needs, as values that can travel: to a thread here, or as JSON to a pod."""

import base64
import json
from dataclasses import dataclass
from typing import Any

from sluice.domain.job import Job, ObjectRef
from sluice.domain.service import Service
from sluice.supervisor.body import Body


@dataclass(frozen=True)
class JobTask:
    """One attempt of a file job."""

    job: Job
    service: Service
    token: str
    timeout: float  # seconds

    def to_json(self) -> dict[str, Any]:
        job = self.job
        source = job.source
        return {
            "job": {
                "id": job.id,
                "service": job.service,
                "source": None if source is None else source.__dict__,
                "payload": _payload_of(job),
            },
            "service": self.service.model_dump(mode="json"),
            "token": self.token,
            "timeout": self.timeout,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "JobTask":
        raw = data["job"]
        source = None if raw.get("source") is None else ObjectRef(**raw["source"])
        payload = None if raw.get("payload") is None else base64.b64decode(raw["payload"])
        job = Job.running(raw["id"], raw["service"], source, payload)
        service = Service.model_validate(data["service"])
        return cls(job, service, str(data["token"]), float(data["timeout"]))

    def dumps(self) -> str:
        return json.dumps(self.to_json())


@dataclass(frozen=True)
class CallTask:
    """A synchronous call: ``timeout`` is what is left of ``limit``, the service's own."""

    service: Service
    token: str
    body: Body
    timeout: float
    limit: float


def _payload_of(job: Job) -> str | None:
    """The job's body as base64 (a body kept in a file travels inline too)."""
    payload = job.payload_file.read_bytes() if job.payload_file is not None else job.payload
    return None if payload is None else base64.b64encode(payload).decode()
