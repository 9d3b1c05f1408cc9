"""A run's private folder (input, output, script and the log beside it) and the supervisor's own
log lines, shared by file jobs, synchronous calls and handler invocations."""

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    """``<root>/<name>/{input,output,script.sh}`` and its log beside it, ``<root>/<name>.log``."""

    path: Path

    @classmethod
    def fresh(cls, root: Path, name: str) -> "Workspace":
        workspace = cls(root / name)
        shutil.rmtree(workspace.path, ignore_errors=True)  # left by an attempt a crash cut short
        workspace.path.mkdir(mode=0o700, parents=True)
        workspace.input_dir.mkdir()
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
