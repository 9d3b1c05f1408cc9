"""A synchronous call to a script service: the body becomes the input file, the script runs
once, and its output files (or its output text) become the response."""

import uuid
from dataclasses import dataclass
from pathlib import Path
from threading import Event

from sluice.backends.base import Backend, Outcome
from sluice.core.services import ServiceRecord
from sluice.core.storage import StorageResolver
from sluice.supervisor.event import decode_body, event_variable
from sluice.supervisor.response import encode_response
from sluice.supervisor.workspace import (
    Notes,
    Workspace,
    base_environment,
    script_spec,
    upload_outputs,
)


@dataclass(frozen=True)
class SyncResult:
    status: int  # 200 answered, 500 the service failed, 504 it took too long
    body: bytes


class ScriptInvoker:
    def __init__(
        self, work_dir: Path, backend: Backend, storage: StorageResolver, log_cap: int
    ) -> None:
        self._work_dir = work_dir
        self._backend = backend
        self._storage = storage
        self._log_cap = log_cap

    def invoke(
        self,
        record: ServiceRecord,
        body: bytes,
        timeout: float,
        cancel: Event | None = None,
        limit: float | None = None,
    ) -> SyncResult:
        """Run once within ``timeout`` seconds (what is left of ``limit``, the service's own)."""
        service = record.service
        run_id = f"{service.name}-run-{uuid.uuid4()}"
        workspace = Workspace.fresh(self._work_dir, run_id)
        notes = Notes()
        try:
            input_path = workspace.input_dir / f"event-file-{run_id}"
            input_path.write_bytes(decode_body(body))
            env = base_environment(service, record.token, workspace, input_path, run_id)
            event = event_variable(body)
            if event is not None:
                env["EVENT"] = event
            notes.add(f"Running the script of service {service.name!r}")
            spec = script_spec(service, workspace, env, timeout, self._log_cap)
            result = self._backend.run(spec, cancel)
            output = workspace.take_log()
            if result.outcome is Outcome.TIMED_OUT:
                message = f"service {service.name!r} did not answer within {limit or timeout:g} s\n"
                return SyncResult(504, message.encode())
            if not result.succeeded:
                notes.add(f"Script failed: {result.reason}", "ERROR")
                return SyncResult(500, notes.around(output, self._log_cap).encode())
            upload_outputs(service, self._storage, workspace.output_dir)
            notes.add("Script finished")
            text = (
                output if service.log_level == "CRITICAL" else notes.around(output, self._log_cap)
            )
            return SyncResult(200, encode_response(workspace.output_dir, text))
        finally:
            workspace.remove()
            workspace.log_path.unlink(missing_ok=True)
