"""The runtime seam: run one command under limits, somewhere (a local process, a container),
and say how it ended."""

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Limits:
    cpu: float  # cores
    memory: int  # bytes
    timeout: float | None  # seconds; None runs without a deadline

    def __post_init__(self) -> None:
        if self.cpu < 0:
            raise ValueError(f"cpu limit must not be negative, got {self.cpu}")
        if self.memory <= 0:
            raise ValueError(f"memory limit must be positive, got {self.memory}")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")


@dataclass(frozen=True)
class Mount:
    """A host folder a sandboxed or containerised command sees: at the same path, or at
    ``target`` (a managed volume at its ``mount_path``)."""

    path: Path
    read_only: bool = False
    target: Path | None = None

    @property
    def inside(self) -> Path:
        return self.target if self.target is not None else self.path


@dataclass(frozen=True)
class ProcessSpec:
    argv: list[str]
    cwd: Path
    env: dict[str, str]  # the whole environment: nothing is inherited
    limits: Limits
    log_path: Path  # combined stdout+stderr are written here, capped
    log_cap: int = 1_048_576  # bytes of output kept; the rest is dropped with a note
    image: str = ""  # the container image, for runtimes that run one
    mounts: tuple[Mount, ...] = ()  # what a container sees of the host: cwd's folder at least
    labels: dict[str, str] = field(default_factory=dict)  # for finding it again (job, service)

    def __post_init__(self) -> None:
        if not self.argv:
            raise ValueError("argv must name a program")
        if self.log_cap < 0:
            raise ValueError(f"log_cap must not be negative, got {self.log_cap}")


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    OUT_OF_MEMORY = "out_of_memory"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    exit_code: int | None  # None when the process was ended by a signal (or never started)
    reason: str  # for people: "exit code 3", "killed: timed out after 5 s"
    duration: float  # seconds
    peak_memory: int  # bytes, the largest sampled total of the process tree

    @property
    def succeeded(self) -> bool:
        return self.outcome is Outcome.SUCCEEDED


class Runtime(Protocol):
    """Runs commands. ``run`` blocks until every process of the command is gone; call it from
    a worker thread. Setting ``cancel`` stops it (outcome CANCELLED). Raises ``BackendError``
    when it cannot be started at all."""

    name: str

    def run(self, spec: ProcessSpec, cancel: threading.Event | None = None) -> RunResult: ...
