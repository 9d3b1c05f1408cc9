"""The pieces every run of a service shares, file job or synchronous call: a private folder,
the environment OSCAR's supervisor sets, the script's process spec and the output upload."""

import os
import shutil
import socket
import stat
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sluice.backends.base import Limits, ProcessSpec
from sluice.core.storage import StorageResolver
from sluice.domain.service import Service
from sluice.supervisor.paths import output_files


@dataclass(frozen=True)
class Workspace:
    """``<root>/<name>/{input,output,script.sh}`` and its log beside it, ``<root>/<name>.log``."""

    path: Path

    @classmethod
    def fresh(cls, root: Path, name: str) -> "Workspace":
        workspace = cls(root / name)
        shutil.rmtree(workspace.path, ignore_errors=True)  # left by an attempt a crash cut short
        workspace.input_dir.mkdir(parents=True)
        workspace.output_dir.mkdir()
        return workspace

    @property
    def input_dir(self) -> Path:
        return self.path / "input"

    @property
    def output_dir(self) -> Path:
        return self.path / "output"

    @property
    def log_path(self) -> Path:
        return self.path.parent / f"{self.path.name}.log"

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def take_log(self) -> str:
        """The script's output, removing the file."""
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
        self.log_path.unlink()
        return text


class Notes:
    """The supervisor's own log lines, in OSCAR's format, around the script's output."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, message: str, level: str = "INFO") -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        self.lines.append(f"{stamp} - supervisor - {level} - {message}\n")

    def around(self, output: str, cap: int) -> str:
        """All lines but the last, the script's output, then the last line (the outcome)."""
        text = "".join(self.lines[:-1]) + output + "".join(self.lines[-1:])
        if len(text) > cap:
            text = text[:cap] + "\n[log truncated]\n"
        return text


def base_environment(
    service: Service, token: str, workspace: Workspace, input_path: Path, run_id: str
) -> dict[str, str]:
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


def script_spec(
    service: Service, workspace: Workspace, env: dict[str, str], timeout: float, log_cap: int
) -> ProcessSpec:
    """Run the script with its own shebang, or ``/bin/sh`` as OSCAR does when it has none."""
    script = workspace.path / "script.sh"
    script.write_text(service.script)
    if service.script.startswith("#!"):
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        argv = [str(script)]
    else:
        argv = ["/bin/sh", str(script)]
    limits = Limits(service.cpu_cores, service.memory_bytes, timeout)
    return ProcessSpec(argv, workspace.path, env, limits, workspace.log_path, log_cap=log_cap)


def upload_outputs(service: Service, storage: StorageResolver, output_dir: Path) -> list[str]:
    """Every output file that passes an output's filters, to that output's path."""
    uploaded: list[str] = []
    files = list(output_files(output_dir))
    for target in service.output:
        provider = storage.open(service, target.storage_provider)
        for local, name in files:
            if target.accepts(name):
                provider.upload_file(local, f"{target.path}/{name}")
                uploaded.append(f"{target.storage_provider}:{target.path}/{name}")
    return uploaded
