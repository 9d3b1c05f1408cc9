"""One run of a script service, as plain functions: a file job's attempt and a synchronous call.

Each stages its input, builds the environment once, runs ``/bin/sh script.sh`` on the runtime it
is given (a local process, a container), stages the outputs out and says how it went. Nothing
here knows about the ledger or the API, so the same steps run inside a Kubernetes pod
(``python -m sluice.supervisor``).
"""

import uuid
from dataclasses import dataclass
from pathlib import Path
from threading import Event

from sluice.domain.results import JobReport, SyncResult
from sluice.domain.service import Service
from sluice.errors import SluiceError
from sluice.runtimes.base import Limits, Mount, Outcome, ProcessSpec, RunResult, Runtime
from sluice.storage.resolver import StorageResolver
from sluice.supervisor.environment import job_environment
from sluice.supervisor.response import encode_response
from sluice.supervisor.stage import stage_body, stage_in, stage_out
from sluice.supervisor.task import CallTask, JobTask
from sluice.supervisor.workspace import Notes, Workspace

SCRIPT_NAME = "script.sh"


def run_job(
    task: JobTask,
    storage: StorageResolver,
    runtime: Runtime,
    work_dir: Path,
    *,
    log_cap: int,
    cancel: Event | None = None,
    mounts: tuple[Mount, ...] = (),
) -> JobReport:
    """One attempt of a file job, with ``mounts`` (managed volumes) besides its folder.
    Failures are reported, not raised."""
    prepared = prepare_job(task, storage, work_dir, log_cap=log_cap, mounts=mounts)
    if isinstance(prepared, JobReport):
        return prepared
    try:
        result = runtime.run(prepared.spec, cancel)
    except SluiceError as exc:
        return prepared.failed(exc)
    except BaseException:
        prepared.workspace.remove()
        raise
    return prepared.complete(result, storage)


@dataclass(frozen=True)
class PreparedJob:
    """A file job with its input staged and its command built: what is left is to run the
    command (``spec``), then ``complete`` (or ``failed`` when it could not run)."""

    task: JobTask
    workspace: Workspace
    notes: Notes
    spec: ProcessSpec
    log_cap: int

    def complete(self, result: RunResult, storage: StorageResolver) -> JobReport:
        """Stage the outputs out (when it succeeded) and say how the attempt went."""
        try:
            if not result.succeeded:
                self.notes.add(f"Script failed: {result.reason}", "ERROR")
                report = JobReport(False, result.exit_code, result.reason)
            else:
                service, output_dir = self.task.service, self.workspace.output_dir
                outputs = stage_out(service, storage, output_dir, self.task.job.id)
                self.notes.add(f"Uploaded {len(outputs)} output file(s)" + _listing(outputs))
                report = JobReport(True, result.exit_code, "")
        except SluiceError as exc:
            return self.failed(exc)
        except BaseException:
            self.workspace.remove()
            raise
        return self._done(report)

    def failed(self, exc: SluiceError) -> JobReport:
        return _failed(exc, self.workspace, self.notes, self.log_cap)

    def _done(self, report: JobReport) -> JobReport:
        return _ended(report, self.workspace, self.notes, self.log_cap)


def _failed(exc: SluiceError, workspace: Workspace, notes: Notes, log_cap: int) -> JobReport:
    notes.add(str(exc), "ERROR")
    return _ended(JobReport(False, None, str(exc)), workspace, notes, log_cap)


def _ended(report: JobReport, workspace: Workspace, notes: Notes, log_cap: int) -> JobReport:
    """The attempt's folder removed, and its log (the notes around the script's output)."""
    workspace.remove()
    report.log = notes.around(workspace.take_log(), log_cap)
    return report


def prepare_job(
    task: JobTask,
    storage: StorageResolver,
    work_dir: Path,
    *,
    log_cap: int,
    mounts: tuple[Mount, ...] = (),
) -> "PreparedJob | JobReport":
    """A fresh folder with the job's input in it, and the command to run; or the report of
    why there is none (the input could not be fetched)."""
    job, service = task.job, task.service
    workspace = Workspace.fresh(work_dir, job.id)
    notes = Notes()
    try:
        input_path = stage_in(job, service, storage, workspace.input_dir, notes)
        env = job_environment(
            service,
            task.token,
            workspace,
            input_path,
            job.id,
            event=job.payload_file or job.payload,
            source=job.source,
        )
        notes.add(f"Running the script of service {service.name!r}")
        spec = script_spec(
            service, workspace, env, task.timeout, log_cap, job=job.id, mounts=mounts
        )
    except SluiceError as exc:
        return _failed(exc, workspace, notes, log_cap)
    except BaseException:
        workspace.remove()
        raise
    return PreparedJob(task, workspace, notes, spec, log_cap)


def run_call(
    task: CallTask,
    storage: StorageResolver,
    runtime: Runtime,
    work_dir: Path,
    *,
    log_cap: int,
    cancel: Event | None = None,
    mounts: tuple[Mount, ...] = (),
) -> SyncResult:
    """A synchronous call: the body is the input file; the answer is what OSCAR answers."""
    service = task.service
    run_id = f"{service.name}-run-{uuid.uuid4()}"
    workspace = Workspace.fresh(work_dir, run_id)
    notes = Notes()
    try:
        input_path = stage_body(task.body, workspace.input_dir, f"event-file-{run_id}")
        env = job_environment(service, task.token, workspace, input_path, run_id, event=task.body)
        notes.add(f"Running the script of service {service.name!r}")
        spec = script_spec(service, workspace, env, task.timeout, log_cap, mounts=mounts)
        result = runtime.run(spec, cancel)
        output = workspace.take_log()
        if result.outcome is Outcome.TIMED_OUT:
            message = f"service {service.name!r} did not answer within {task.limit:g} s\n"
            return SyncResult(504, message.encode())
        if not result.succeeded:
            notes.add(f"Script failed: {result.reason}", "ERROR")
            return SyncResult(500, notes.around(output, log_cap).encode())
        stage_out(service, storage, workspace.output_dir)
        notes.add("Script finished")
        text = output if service.log_level == "CRITICAL" else notes.around(output, log_cap)
        return SyncResult(200, encode_response(workspace.output_dir, text))
    finally:
        workspace.remove()
        workspace.log_path.unlink(missing_ok=True)


def script_spec(
    service: Service,
    workspace: Workspace,
    env: dict[str, str],
    timeout: float,
    log_cap: int,
    job: str = "",
    mounts: tuple[Mount, ...] = (),
) -> ProcessSpec:
    """``/bin/sh script.sh``, as OSCAR's supervisor runs it: never through its shebang."""
    script = workspace.path / SCRIPT_NAME
    script.write_text(service.script)
    limits = Limits(service.cpu_cores, service.memory_bytes, timeout)
    labels = {"sluice.service": service.name, **({"sluice.job": job} if job else {})}
    return ProcessSpec(
        ["/bin/sh", str(script)],
        workspace.path,
        env,
        limits,
        workspace.log_path,
        log_cap=log_cap,
        image=service.image,
        mounts=(Mount(workspace.path), *mounts),
        labels=labels,
    )


def _listing(items: list[str]) -> str:
    return "".join(f"\n  {item}" for item in items[:50])
