"""Moving a run's files: the input in from storage (or from a request body), the outputs out."""

from pathlib import Path

from sluice.domain.job import Job
from sluice.domain.service import Service
from sluice.storage.resolver import StorageResolver
from sluice.supervisor.body import Body, write_input
from sluice.supervisor.paths import output_files, safe_file_name
from sluice.supervisor.workspace import Notes


def stage_in(
    job: Job, service: Service, storage: StorageResolver, input_dir: Path, notes: Notes
) -> Path:
    """The job's input file: its stored object downloaded (unless ``file_stage_in`` says the
    script fetches it itself), or its ``/job`` body decoded as OSCAR decodes it."""
    if job.source is None:
        body = job.payload_file if job.payload_file is not None else job.payload or b""
        return stage_body(body, input_dir, f"event-file-{job.id}")
    target = input_dir / safe_file_name(job.source.key)
    if not service.file_stage_in:
        notes.add(f"Downloading {job.source.bucket}/{job.source.key}")
        provider = storage.open(service, job.source.provider)
        provider.download_file(f"{job.source.bucket}/{job.source.key}", target)
    return target


def stage_body(body: Body, input_dir: Path, name: str) -> Path:
    target = input_dir / name
    write_input(body, target)
    return target


def stage_out(
    service: Service, storage: StorageResolver, output_dir: Path, job_id: str = ""
) -> list[str]:
    """Every output file that passes an output's filters, to that output's path; what went where."""
    uploaded: list[str] = []
    files = list(output_files(output_dir))
    for target in service.output:
        provider = storage.open(service, target.storage_provider)
        for local, name in files:
            if target.accepts(name):
                where = f"{target.path}/{name}"
                storage.upload(service, target.storage_provider, provider, local, where, job_id)
                uploaded.append(f"{target.storage_provider}:{target.path}/{name}")
    return uploaded
