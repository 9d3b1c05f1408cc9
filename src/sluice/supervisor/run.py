"""One attempt of one file job: download the input, run the script under limits, upload."""

from dataclasses import dataclass
from pathlib import Path
from threading import Event

from sluice.backends.base import Backend
from sluice.core.services import ServiceRecord
from sluice.core.storage import StorageResolver
from sluice.domain.job import Job
from sluice.domain.service import Service
from sluice.errors import SluiceError
from sluice.supervisor.event import decode_body, event_time_of, event_variable
from sluice.supervisor.paths import safe_file_name
from sluice.supervisor.workspace import (
    Notes,
    Workspace,
    base_environment,
    script_spec,
    upload_outputs,
)


@dataclass
class JobReport:
    succeeded: bool
    exit_code: int | None
    reason: str
    log: str = ""


class JobRunner:
    def __init__(
        self,
        work_dir: Path,
        backend: Backend,
        storage: StorageResolver,
        log_cap: int,
        default_timeout: float,
    ) -> None:
        self.work_dir = work_dir
        self._backend = backend
        self._storage = storage
        self._log_cap = log_cap
        self._default_timeout = default_timeout

    def run(self, job: Job, record: ServiceRecord, cancel: Event | None = None) -> JobReport:
        workspace = Workspace.fresh(self.work_dir, job.id)
        notes = Notes()
        try:
            report = self._attempt(job, record, workspace, notes, cancel)
        except SluiceError as exc:
            notes.add(str(exc), "ERROR")
            report = JobReport(False, None, str(exc))
        finally:
            workspace.remove()
        report.log = notes.around(workspace.take_log(), self._log_cap)
        return report

    def _attempt(
        self,
        job: Job,
        record: ServiceRecord,
        workspace: Workspace,
        notes: Notes,
        cancel: Event | None,
    ) -> JobReport:
        service = record.service
        input_path = self.stage_in(job, service, workspace.input_dir, notes)
        env = self.environment(job, record, workspace, input_path)
        notes.add(f"Running the script of service {service.name!r}")
        timeout = service.timeout or self._default_timeout
        spec = script_spec(service, workspace, env, timeout, self._log_cap)
        result = self._backend.run(spec, cancel)
        if not result.succeeded:
            notes.add(f"Script failed: {result.reason}", "ERROR")
            return JobReport(False, result.exit_code, result.reason)
        outputs = upload_outputs(service, self._storage, workspace.output_dir)
        notes.add(f"Uploaded {len(outputs)} output file(s)" + _listing(outputs))
        return JobReport(True, result.exit_code, "")

    def stage_in(self, job: Job, service: Service, input_dir: Path, notes: Notes) -> Path:
        if job.source is not None:
            target = input_dir / safe_file_name(job.source.key)
            if not service.file_stage_in:
                notes.add(f"Downloading {job.source.bucket}/{job.source.key}")
                provider = self._storage.open(service, job.source.provider)
                provider.download_file(f"{job.source.bucket}/{job.source.key}", target)
            return target
        target = input_dir / f"event-file-{job.id}"
        target.write_bytes(decode_body(job.payload or b""))
        return target

    def environment(
        self, job: Job, record: ServiceRecord, workspace: Workspace, input_path: Path
    ) -> dict[str, str]:
        env = base_environment(record.service, record.token, workspace, input_path, job.id)
        if job.source is not None:
            env["STORAGE_OBJECT_KEY"] = job.source.key
            env["EVENT_TIME"] = event_time_of(job.payload)
        event = event_variable(job.payload)
        if event is not None:
            env["EVENT"] = event
        return env


def _listing(items: list[str]) -> str:
    return "".join(f"\n  {item}" for item in items[:50])
