"""The pod's two halves without a cluster: the job container's loop (``JOB_LOOP``, run by a
real /bin/sh here) and the supervisor's ``HandoffRuntime`` meeting in a shared folder."""

import io
from pathlib import Path

from sluice.execution.kubernetes.handoff import HandoffRuntime, run_script
from sluice.runtimes.base import Limits, Outcome, ProcessSpec


def spec(tmp_path: Path, script: str, timeout: float | None = 30) -> ProcessSpec:
    (tmp_path / "script.sh").write_text(script)
    return ProcessSpec(
        ["/bin/sh", str(tmp_path / "script.sh")],
        tmp_path,
        {"GREETING": "it's here", "PATH": "/nowhere"},
        Limits(0.1, 64 * 1024 * 1024, timeout),
        tmp_path / "log.txt",
    )


def test_a_run_gets_its_environment_folder_and_log(loop: Path, tmp_path: Path) -> None:
    result = HandoffRuntime(loop).run(spec(tmp_path, 'echo "$GREETING in $(pwd)"; echo $PATH'))
    assert result.outcome is Outcome.SUCCEEDED and result.exit_code == 0
    lines = (tmp_path / "log.txt").read_text().splitlines()
    assert lines[0] == f"it's here in {tmp_path}"
    assert lines[1] != "/nowhere"  # the image's PATH is kept, as the container runtime does


def test_exit_codes_and_the_memory_kill(loop: Path, tmp_path: Path) -> None:
    runtime = HandoffRuntime(loop)
    failed = runtime.run(spec(tmp_path, "exit 3"))
    assert (failed.outcome, failed.exit_code, failed.reason) == (Outcome.FAILED, 3, "exit code 3")
    killed = runtime.run(spec(tmp_path, "kill -9 $$"))
    assert killed.outcome is Outcome.OUT_OF_MEMORY and "64Mi" in killed.reason


def test_a_run_past_its_timeout_is_reported(loop: Path, tmp_path: Path) -> None:
    result = HandoffRuntime(loop).run(spec(tmp_path, "sleep 2", timeout=0.3))
    assert result.outcome is Outcome.TIMED_OUT


def test_the_script_is_quoted_for_sh(tmp_path: Path) -> None:
    text = run_script(spec(tmp_path, "true"))
    assert "export GREETING='it'\"'\"'s here'" in text
    assert "PATH" not in text


def test_the_scripts_output_is_echoed_as_it_comes(loop: Path, tmp_path: Path) -> None:
    echo = io.BytesIO()
    result = HandoffRuntime(loop, echo=echo).run(spec(tmp_path, "echo one; printf two"))
    assert result.succeeded
    assert echo.getvalue() == b"one\ntwo\n"  # and a last newline: the report's line follows
