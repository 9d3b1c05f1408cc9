"""How a pod runs a script in the service's own image while Sluice's supervisor, in the pod's
other container, stages its files: the two containers share an ``emptyDir`` at ``/sluice``.

The job container (the service's image, anything with ``/bin/sh``) runs ``JOB_LOOP``: it waits
for a run's folder under ``/sluice/handoff/`` to hold ``go``, runs that folder's ``run.sh`` (the
script with its environment, written by the supervisor) and writes its exit status to ``exit``.
The supervisor container runs ``run_job``/``run_call`` unchanged, on ``HandoffRuntime``: its
``run`` writes ``run.sh``, touches ``go`` and waits for ``exit``. When the supervisor is done it
writes ``/sluice/handoff/done`` and the loop ends (a Job's pod), or never (a Deployment's).
"""

import shlex
import threading
import time
import uuid
from pathlib import Path
from typing import BinaryIO

from sluice.domain.quantity import format_memory
from sluice.runtimes.base import Outcome, ProcessSpec, RunResult

SHARED = Path("/sluice")  # the emptyDir both containers mount
HANDOFF = SHARED / "handoff"
DONE = "done"
POLL = 0.05  # seconds between looks at a run's exit file
KILLED = 137  # 128 + SIGKILL: what a script killed by the memory limit exits with

# POSIX sh only (busybox, dash, bash): the image may be glibc or musl, anything with /bin/sh.
JOB_LOOP = r"""
h=${SLUICE_HANDOFF:-/sluice/handoff}
mkdir -p "$h"
while [ ! -e "$h/done" ]; do
  for go in "$h"/*/go; do
    [ -e "$go" ] || continue
    d=${go%/go}
    rm -f "$go"
    ( /bin/sh "$d/run.sh"; echo $? > "$d/exit.tmp"; mv "$d/exit.tmp" "$d/exit" ) &
  done
  sleep 0.05 2>/dev/null || sleep 1
done
wait
""".strip()


def run_script(spec: ProcessSpec, pid_file: Path | None = None) -> str:
    """``run.sh`` for one run: the spec's environment over the image's (whose ``PATH`` is
    kept, as the container runtime does), its folder, its command, output to its log; the
    command's pid in ``pid_file`` if given."""
    lines = ["#!/bin/sh", f"cd {shlex.quote(str(spec.cwd))} || exit 126"]
    if pid_file is not None:
        lines.append(f"echo $$ > {shlex.quote(str(pid_file))}")
    for key, value in sorted(spec.env.items()):
        if key != "PATH":
            lines.append(f"export {key}={shlex.quote(value)}")
    command = " ".join(shlex.quote(arg) for arg in spec.argv)
    lines.append(f"exec {command} > {shlex.quote(str(spec.log_path))} 2>&1 < /dev/null")
    return "\n".join(lines) + "\n"


class HandoffRuntime:
    """Runs a spec in the pod's job container (see the module's docstring)."""

    name = "kubernetes"

    def __init__(self, handoff: Path = HANDOFF, echo: BinaryIO | None = None) -> None:
        """``echo``: where the script's output is copied as it comes (the supervisor's
        stdout in a Job's pod, so the pod's log is the job's live log)."""
        self._handoff = handoff
        self._echo = echo

    def run(self, spec: ProcessSpec, cancel: threading.Event | None = None) -> RunResult:
        folder = self._handoff / uuid.uuid4().hex
        folder.mkdir(parents=True)
        (folder / "run.sh").write_text(run_script(spec))
        (folder / "go.tmp").touch()
        (folder / "go.tmp").rename(folder / "go")
        started = time.monotonic()
        deadline = None if spec.limits.timeout is None else started + spec.limits.timeout
        exit_file = folder / "exit"
        echoed = 0
        while not exit_file.exists():
            echoed = self._copy_log(spec.log_path, echoed, spec.log_cap)
            if cancel is not None and cancel.is_set():
                return RunResult(Outcome.CANCELLED, None, "cancelled", _since(started), 0)
            if deadline is not None and time.monotonic() > deadline:
                reason = f"killed: timed out after {spec.limits.timeout:g} s"
                return RunResult(Outcome.TIMED_OUT, None, reason, _since(started), 0)
            time.sleep(POLL)
        self._copy_log(spec.log_path, echoed, spec.log_cap, last=True)
        code = int(exit_file.read_text().strip() or "1")
        duration = _since(started)
        if code == 0:
            return RunResult(Outcome.SUCCEEDED, 0, "", duration, 0)
        if code == KILLED:
            limit = format_memory(spec.limits.memory)
            reason = f"killed: exceeded the memory limit of {limit} (out of memory)"
            return RunResult(Outcome.OUT_OF_MEMORY, code, reason, duration, 0)
        return RunResult(Outcome.FAILED, code, f"exit code {code}", duration, 0)

    def _copy_log(self, path: Path, offset: int, cap: int, last: bool = False) -> int:
        """Copy what the script printed since ``offset``, up to ``cap`` bytes in all."""
        if self._echo is None:
            return offset
        try:
            with path.open("rb") as log:
                log.seek(offset)
                data = log.read(max(0, cap - offset))
        except OSError:
            data = b""
        if data:
            self._echo.write(data)
        if last:
            self._echo.write(b"\n")  # the report goes on a line of its own
        self._echo.flush()
        return offset + len(data)

    def finish(self) -> None:
        """Tell the job container's loop to end (a Job's pod is then done)."""
        self._handoff.mkdir(parents=True, exist_ok=True)
        (self._handoff / DONE).touch()


def _since(started: float) -> float:
    return time.monotonic() - started
