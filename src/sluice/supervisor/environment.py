"""The environment OSCAR's supervisor gives a job, built in one place for every kind of run."""

import os
import socket
import sys
from pathlib import Path

from sluice.domain.job import ObjectRef
from sluice.domain.service import Service
from sluice.supervisor.body import Body, small_bytes
from sluice.supervisor.event import event_time_of, event_variable
from sluice.supervisor.workspace import Workspace


def job_environment(
    service: Service,
    token: str,
    workspace: Workspace,
    input_path: Path,
    run_id: str,
    *,
    event: Body | None = None,
    source: ObjectRef | None = None,
) -> dict[str, str]:
    """Everything a script run sees: nothing is inherited from the manager but ``PATH``.

    ``event`` is the raw ``/job`` or ``/run`` body or the storage event (``$EVENT`` when it is
    text); ``source`` the stored object that triggered a file job.
    """
    env = {
        "PATH": job_path(),
        "LANG": "C.UTF-8",
        "HOME": str(workspace.path),
        "INPUT_FILE_PATH": str(input_path),
        "TMP_INPUT_DIR": str(workspace.input_dir),
        "TMP_OUTPUT_DIR": str(workspace.output_dir),
        "JOB_UUID": run_id,
        "RESOURCE_ID": socket.gethostname(),
        "OSCAR_SERVICE_NAME": service.name,
        "OSCAR_SERVICE_TOKEN": token,
        "OSCAR_SERVICE_BASE_PATH": "",
    }
    if source is not None:
        env["STORAGE_OBJECT_KEY"] = source.key
        env["EVENT_TIME"] = event_time_of(small_bytes(event))
    small = small_bytes(event)
    text = event_variable(small)
    if text is not None:
        env["EVENT"] = text
    env.update(service_environment(service))
    return env


def worker_environment(service: Service) -> dict[str, str]:
    """What a warm handler worker is started with; each invocation gets its paths as arguments."""
    env = {
        "PATH": job_path(),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "OSCAR_SERVICE_NAME": service.name,
    }
    env.update(service_environment(service))
    return env


def service_environment(service: Service) -> dict[str, str]:
    """The service's own part: ``pythonpath``, its variables, then its secrets."""
    env: dict[str, str] = {}
    if service.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(service.pythonpath)
    env.update(service.environment.variables)
    env.update(service.environment.secrets)
    return env


def job_path() -> str:
    """``PATH`` for jobs: Sluice's own interpreter first, so ``python3`` in a script is the one
    Sluice runs on (with its virtual environment's packages)."""
    inherited = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    return os.pathsep.join([str(Path(sys.executable).parent), inherited])
