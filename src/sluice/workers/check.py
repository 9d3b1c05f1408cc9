"""Check a Python handler service's ``handler`` and ``init`` before any worker is started."""

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

from sluice.errors import Invalid
from sluice.procs import kill_group
from sluice.runtimes.sandbox import Sandbox
from sluice.workers.channel import HEADER
from sluice.workers.worker import WORKER_MAIN

_STDERR_TAIL = 2_000  # characters of the interpreter's stderr quoted in an error


def validate_target(label: str, target: str) -> None:
    """``target`` must read ``package.module:function`` (the function part may be dotted)."""
    module, colon, attribute = target.partition(":")
    names = [*module.split("."), *attribute.split(".")]
    if not colon or not all(name.isidentifier() for name in names):
        raise Invalid(
            f"{label} {target!r} must be of the form 'module:function', e.g. 'app.handlers:process'"
        )


def check_handler(
    python: str,
    handler: str,
    init: str | None,
    cwd: Path | None,
    env: dict[str, str] | None,
    timeout: float = 60,
    sandbox: Sandbox | None = None,
) -> None:
    """Import the handler's (and init's) module under ``python`` and resolve both callables,
    without calling them. Raises ``Invalid`` saying what is wrong. Importing runs the
    modules' top-level code, in a child process of its own."""
    python = verify_python(python)
    argv = check_command(python, handler, init)
    options: dict[str, Any] = {}
    if sandbox is not None:
        argv = sandbox.command(argv, cwd or Path("/"), ())
        options = sandbox.popen_options()
    stdout, stderr = _run(argv, cwd, env, timeout, handler, options)
    read_check_answer(python, handler, stdout, stderr)


_PYTHON_NAME = re.compile(r"^python(\d+(\.\d+)*)?$")


def verify_python(python: str) -> str:
    """The interpreter a handler service names, checked before it is ever run: an executable
    file called ``python``, ``python3`` or ``python3.11`` (a virtualenv's counts: its real file
    is one), not just any program. Its absolute path."""
    found = python if os.path.isabs(python) else shutil.which(python)
    if found is None or not os.path.isfile(found):
        raise Invalid(f"python {python!r} not found")
    real = os.path.realpath(found)
    if not _PYTHON_NAME.match(os.path.basename(real)) or not os.access(real, os.X_OK):
        raise Invalid(
            f"python {python!r} is not a Python interpreter (it is {real}); name a python, "
            "python3 or python3.X executable, or a virtualenv's bin/python"
        )
    return found


def check_command(
    python: str, handler: str, init: str | None, worker_main: str = str(WORKER_MAIN)
) -> list[str]:
    """The command that checks a handler (and init); Invalid for a malformed target."""
    validate_target("handler", handler)
    if init is not None:
        validate_target("init", init)
    argv = [python, worker_main, "--check", "--handler", handler]
    if init is not None:
        argv += ["--init", init]
    return argv


def read_check_answer(python: str, handler: str, stdout: bytes, stderr: bytes) -> None:
    """Raise Invalid unless the check's output says the handler (and init) resolved."""
    if len(stdout) < HEADER.size:
        tail = stderr.decode(errors="replace").strip()[-_STDERR_TAIL:]
        raise Invalid(f"python {python!r} could not check handler {handler!r}: {tail}")
    answer = _decode(stdout)
    if answer.get("ok") is not True:
        raise Invalid(str(answer.get("error")))


def _decode(stdout: bytes) -> dict[str, Any]:
    (size,) = HEADER.unpack_from(stdout)
    try:
        answer = json.loads(stdout[HEADER.size : HEADER.size + size])
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise Invalid(f"the handler check answered nonsense: {stdout[:200]!r}")
    return answer


def _run(
    argv: list[str],
    cwd: Path | None,
    env: dict[str, str] | None,
    timeout: float,
    handler: str,
    options: dict[str, Any],
) -> tuple[bytes, bytes]:
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            **options,
        )
    except FileNotFoundError as exc:
        if cwd is not None and exc.filename is not None and Path(exc.filename) == cwd:
            raise Invalid(f"working directory '{cwd}' does not exist") from exc
        raise Invalid(f"python {argv[0]!r} not found") from exc
    except OSError as exc:
        raise Invalid(f"python {argv[0]!r} cannot be run: {exc.strerror}") from exc
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process.pid, signal.SIGKILL)  # still unreaped: the group is ours
        process.communicate()
        raise Invalid(f"handler {handler!r}: importing took longer than {timeout:g} s") from None
