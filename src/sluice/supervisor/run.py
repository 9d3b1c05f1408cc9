"""One attempt of one job: download the input, run the script under limits, upload the outputs."""

import os
import shutil
import socket
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from threading import Event

from sluice.backends.base import Backend, Limits, ProcessSpec
from sluice.core.services import ServiceRecord
from sluice.core.storage import StorageResolver
from sluice.domain.job import Job
from sluice.domain.quantity import parse_cpu, parse_memory
from sluice.domain.service import Service
from sluice.errors import SluiceError
from sluice.supervisor.event import decode_body, event_time_of
from sluice.supervisor.paths import output_files, safe_file_name

MAX_EVENT_ENV = 100_000  # one environment string may not exceed 128 KiB on Linux


@dataclass
class JobReport:
    succeeded: bool
    exit_code: int | None
    reason: str
    log: str = ""
    outputs: list[str] = field(default_factory=list)


class JobNotes:
    """The supervisor's own log lines, in OSCAR's format, around the script's output."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, message: str, level: str = "INFO") -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        self.lines.append(f"{stamp} - supervisor - {level} - {message}\n")


class JobRunner:
    def __init__(
        self,
        work_dir: Path,
        backend: Backend,
        storage: StorageResolver,
        log_cap: int,
        default_timeout: float,
    ) -> None:
        self._work_dir = work_dir
        self._backend = backend
        self._storage = storage
        self._log_cap = log_cap
        self._default_timeout = default_timeout

    def run(self, job: Job, record: ServiceRecord, cancel: Event | None = None) -> JobReport:
        workspace = self._fresh_workspace(job.id)
        notes = JobNotes()
        try:
            report = self._attempt(job, record, workspace, notes, cancel)
        except SluiceError as exc:
            notes.add(str(exc), "ERROR")
            report = JobReport(False, None, str(exc))
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
        report.log = self._compose_log(notes, _log_path(workspace))
        return report

    def _attempt(
        self,
        job: Job,
        record: ServiceRecord,
        workspace: Path,
        notes: JobNotes,
        cancel: Event | None,
    ) -> JobReport:
        service = record.service
        input_dir, output_dir = workspace / "input", workspace / "output"
        input_dir.mkdir()
        output_dir.mkdir()
        input_path = self._stage_in(job, service, input_dir, notes)
        env = self._environment(job, record, input_path, input_dir, output_dir)
        notes.add(f"Running the script of service {service.name!r}")
        result = self._backend.run(self._spec(service, workspace, env), cancel)
        if not result.succeeded:
            notes.add(f"Script failed: {result.reason}", "ERROR")
            return JobReport(False, result.exit_code, result.reason)
        outputs = self._stage_out(service, output_dir, notes)
        return JobReport(True, result.exit_code, "", outputs=outputs)

    def _fresh_workspace(self, job_id: str) -> Path:
        workspace = self._work_dir / job_id
        shutil.rmtree(workspace, ignore_errors=True)  # left by an attempt a crash cut short
        workspace.mkdir(parents=True)
        return workspace

    def _stage_in(self, job: Job, service: Service, input_dir: Path, notes: JobNotes) -> Path:
        if job.source is not None:
            name = safe_file_name(job.source.key)
            target = input_dir / name
            if not service.file_stage_in:
                notes.add(f"Downloading {job.source.bucket}/{job.source.key}")
                provider = self._storage.open(service, job.source.provider)
                provider.download_file(f"{job.source.bucket}/{job.source.key}", target)
            return target
        target = input_dir / f"event-file-{job.id}"
        target.write_bytes(decode_body(job.payload or b""))
        return target

    def _environment(
        self, job: Job, record: ServiceRecord, input_path: Path, input_dir: Path, output_dir: Path
    ) -> dict[str, str]:
        service = record.service
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(input_dir.parent),
            "INPUT_FILE_PATH": str(input_path),
            "TMP_INPUT_DIR": str(input_dir),
            "TMP_OUTPUT_DIR": str(output_dir),
            "JOB_UUID": job.id,
            "RESOURCE_ID": socket.gethostname(),
            "OSCAR_SERVICE_NAME": service.name,
            "OSCAR_SERVICE_TOKEN": record.token,
            "OSCAR_SERVICE_BASE_PATH": "",
        }
        if job.source is not None:
            env["STORAGE_OBJECT_KEY"] = job.source.key
            env["EVENT_TIME"] = event_time_of(job.payload)
        event = (job.payload or b"").decode("utf-8", errors="replace")
        if len(event) <= MAX_EVENT_ENV:
            env["EVENT"] = event
        env.update(service.environment.variables)
        env.update(service.environment.secrets)
        return env

    def _spec(self, service: Service, workspace: Path, env: dict[str, str]) -> ProcessSpec:
        script = workspace / "script.sh"
        script.write_text(service.script)
        if service.script.startswith("#!"):
            script.chmod(script.stat().st_mode | stat.S_IXUSR)
            argv = [str(script)]
        else:
            argv = ["/bin/sh", str(script)]
        limits = Limits(
            cpu=parse_cpu(service.cpu),
            memory=parse_memory(service.memory),
            timeout=service.timeout or self._default_timeout,
        )
        log_path = _log_path(workspace)
        return ProcessSpec(argv, workspace, env, limits, log_path, log_cap=self._log_cap)

    def _stage_out(self, service: Service, output_dir: Path, notes: JobNotes) -> list[str]:
        uploaded: list[str] = []
        files = list(output_files(output_dir))
        for target in service.output:
            provider = self._storage.open(service, target.storage_provider)
            for local, name in files:
                if target.accepts(name):
                    provider.upload_file(local, f"{target.path}/{name}")
                    uploaded.append(f"{target.storage_provider}:{target.path}/{name}")
        notes.add(f"Uploaded {len(uploaded)} output file(s)" + _listing(uploaded))
        return uploaded

    def _compose_log(self, notes: JobNotes, script_log: Path) -> str:
        head, tail = notes.lines[:-1], notes.lines[-1:]
        output = ""
        if script_log.exists():
            output = script_log.read_text(errors="replace")
            script_log.unlink()
        text = "".join(head) + output + "".join(tail)
        if len(text) > self._log_cap:
            text = text[: self._log_cap] + "\n[log truncated]\n"
        return text


def _log_path(workspace: Path) -> Path:
    return workspace.parent / f"{workspace.name}.log"


def _listing(items: list[str]) -> str:
    return "".join(f"\n  {item}" for item in items[:50])
