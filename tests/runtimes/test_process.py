"""The process runtime against real processes: no mocks."""

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from sluice.errors import BackendError
from sluice.runtimes.base import Limits, Outcome, ProcessSpec, RunResult, Runtime
from sluice.runtimes.process import ProcessRuntime

MiB = 2**20
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin"}


def spec_for(
    tmp_path: Path,
    script: str,
    *,
    memory: int = 512 * MiB,
    timeout: float | None = 20,
    env: dict[str, str] | None = None,
    log_cap: int = 1_048_576,
) -> ProcessSpec:
    return ProcessSpec(
        argv=["/bin/sh", "-c", script],
        cwd=tmp_path,
        env=ENV if env is None else env,
        limits=Limits(cpu=1, memory=memory, timeout=timeout),
        log_path=tmp_path / "job.log",
        log_cap=log_cap,
    )


def run(spec: ProcessSpec, cancel: threading.Event | None = None) -> RunResult:
    runtime: Runtime = ProcessRuntime()
    return runtime.run(spec, cancel)


def assert_gone(pid: int) -> None:
    """Neither running nor a zombie: nothing of the job is left in the process table."""
    deadline = time.monotonic() + 1
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    if psutil.pid_exists(pid):
        status = psutil.Process(pid).status()
        pytest.fail(f"process {pid} survived the job ({status})")


def test_success_captures_stdout_and_stderr(tmp_path: Path) -> None:
    result = run(spec_for(tmp_path, "echo out; echo err >&2; pwd"))
    assert result.outcome is Outcome.SUCCEEDED
    assert (result.exit_code, result.reason) == (0, "exit code 0")
    assert (tmp_path / "job.log").read_text() == f"out\nerr\n{tmp_path}\n"
    assert 0 < result.duration < 2


def test_non_zero_exit_fails_with_the_code(tmp_path: Path) -> None:
    result = run(spec_for(tmp_path, "exit 3"))
    assert result.outcome is Outcome.FAILED
    assert (result.exit_code, result.reason) == (3, "exit code 3")


def test_death_by_signal_is_named(tmp_path: Path) -> None:
    result = run(spec_for(tmp_path, "kill -SEGV $$"))
    assert result.outcome is Outcome.FAILED
    assert (result.exit_code, result.reason) == (None, "killed by signal SIGSEGV")


def test_memory_hog_is_killed(tmp_path: Path) -> None:
    hog = "import time; b = b'x' * (200 << 20); time.sleep(30)"
    script = f'echo $$; exec {sys.executable} -c "{hog}"'
    result = run(spec_for(tmp_path, script, memory=64 * MiB))
    assert result.outcome is Outcome.OUT_OF_MEMORY
    assert result.exit_code is None
    assert result.peak_memory > 64 * MiB
    assert result.reason.startswith("killed: exceeded the memory limit of 64Mi (peak ")
    assert result.duration < 5
    assert_gone(int((tmp_path / "job.log").read_text()))


def test_memory_of_the_whole_tree_counts(tmp_path: Path) -> None:
    # Two processes of about 50 MiB each: neither alone is over the limit, together they are.
    hog = f"{sys.executable} -c \"import time; b = b'x' * (40 << 20); time.sleep(30)\""
    result = run(spec_for(tmp_path, f"{hog} & {hog} & wait", memory=80 * MiB))
    assert result.outcome is Outcome.OUT_OF_MEMORY
    assert result.peak_memory > 80 * MiB
    assert psutil.Process(os.getpid()).children() == []


def test_timeout_kills_within_the_grace(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run(spec_for(tmp_path, "echo $$; sleep 30", timeout=1))
    assert result.outcome is Outcome.TIMED_OUT
    assert result.reason == "killed: timed out after 1 s"
    assert time.monotonic() - started < 4
    assert_gone(int((tmp_path / "job.log").read_text()))


def test_sigterm_ignored_means_sigkill(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run(spec_for(tmp_path, "trap '' TERM; while :; do sleep 0.05; done", timeout=0.3))
    assert result.outcome is Outcome.TIMED_OUT
    assert 2.3 < time.monotonic() - started < 4


def test_background_grandchild_is_cleaned_up(tmp_path: Path) -> None:
    result = run(spec_for(tmp_path, "sleep 100 & echo $!; exit 0"))
    assert result.outcome is Outcome.SUCCEEDED
    assert_gone(int((tmp_path / "job.log").read_text()))


def test_orphan_of_a_dead_middle_process_is_cleaned_up(tmp_path: Path) -> None:
    # The subshell exits at once, so its sleep is orphaned while the job still runs.
    result = run(spec_for(tmp_path, "(sleep 100 & echo $!); sleep 0.3"))
    assert result.outcome is Outcome.SUCCEEDED
    assert_gone(int((tmp_path / "job.log").read_text()))


def test_cancel(tmp_path: Path) -> None:
    cancel = threading.Event()
    log = tmp_path / "job.log"

    def cancel_once_running() -> None:  # not on a timer: a busy machine may start it late
        while not (log.exists() and log.read_text()):
            time.sleep(0.01)
        cancel.set()

    threading.Thread(target=cancel_once_running, daemon=True).start()
    started = time.monotonic()
    result = run(spec_for(tmp_path, "echo $$; sleep 30"), cancel)
    assert (result.outcome, result.reason) == (Outcome.CANCELLED, "cancelled")
    assert time.monotonic() - started < 20  # it did not wait for the sleep
    assert_gone(int((tmp_path / "job.log").read_text()))


def test_cancelled_before_start_runs_nothing(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    result = run(spec_for(tmp_path, "touch ran"), cancel)
    assert result.outcome is Outcome.CANCELLED
    assert not (tmp_path / "ran").exists()


def test_log_is_capped_with_a_note(tmp_path: Path) -> None:
    result = run(spec_for(tmp_path, "head -c 5000000 /dev/zero | tr '\\0' x", log_cap=1000))
    assert result.outcome is Outcome.SUCCEEDED
    data = (tmp_path / "job.log").read_bytes()
    head, note = data[:1000], data[1000:].decode()
    assert head == b"x" * 1000
    assert note.startswith("\n[sluice] log truncated: only the first 1000 bytes")
    assert note.endswith("\n")
    assert len(note) < 200


def test_log_under_the_cap_is_untouched(tmp_path: Path) -> None:
    run(spec_for(tmp_path, "printf 'abc'", log_cap=3))
    assert (tmp_path / "job.log").read_bytes() == b"abc"


def test_environment_is_exactly_what_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLUICE_LEAK_CHECK", "secret")
    spec = ProcessSpec(
        argv=["/usr/bin/env"],
        cwd=tmp_path,
        env={"ONLY": "this"},
        limits=Limits(cpu=1, memory=64 * MiB, timeout=5),
        log_path=tmp_path / "job.log",
    )
    assert run(spec).outcome is Outcome.SUCCEEDED
    assert (tmp_path / "job.log").read_text() == "ONLY=this\n"


def test_stdin_is_empty(tmp_path: Path) -> None:
    result = run(spec_for(tmp_path, "wc -c"))
    assert result.outcome is Outcome.SUCCEEDED
    assert (tmp_path / "job.log").read_text().strip() == "0"


def test_a_program_that_cannot_start_is_a_backend_error(tmp_path: Path) -> None:
    spec = ProcessSpec(
        argv=[str(tmp_path / "missing")],
        cwd=tmp_path,
        env=ENV,
        limits=Limits(cpu=1, memory=64 * MiB, timeout=5),
        log_path=tmp_path / "job.log",
    )
    with pytest.raises(BackendError, match=r"could not start .*missing.*No such file"):
        run(spec)


def test_an_unwritable_log_is_a_backend_error(tmp_path: Path) -> None:
    spec = ProcessSpec(
        argv=["/bin/true"],
        cwd=tmp_path,
        env=ENV,
        limits=Limits(cpu=1, memory=64 * MiB, timeout=5),
        log_path=tmp_path / "no" / "such" / "dir" / "job.log",
    )
    with pytest.raises(BackendError, match="cannot write the job log"):
        run(spec)


def test_concurrent_jobs_keep_their_own_results(tmp_path: Path) -> None:
    results: dict[int, RunResult] = {}

    def one(code: int) -> None:
        work = tmp_path / str(code)
        work.mkdir()
        results[code] = run(spec_for(work, f"sleep 0.{code}; exit {code}"))

    threads = [threading.Thread(target=one, args=(code,)) for code in range(1, 6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {code: result.exit_code for code, result in results.items()} == {
        code: code for code in range(1, 6)
    }


def test_no_child_of_ours_is_left_behind(tmp_path: Path) -> None:
    run(spec_for(tmp_path, "sleep 100 & sleep 100 & (sleep 100 &); exit 0"))
    assert psutil.Process(os.getpid()).children() == []


def test_a_setsid_escapee_is_killed_and_reaped(tmp_path: Path) -> None:
    """It left the job's session and process group; it was still seen in the job's tree."""
    marker = f"{os.getpid()}.25"  # a sleep nothing else on this machine runs
    run(spec_for(tmp_path, f"setsid sleep {marker} & sleep 0.3; exit 0"))
    left = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", marker]]
    assert left == []  # neither running nor a zombie
    assert psutil.Process(os.getpid()).children() == []


def test_many_jobs_run_at_once_without_a_thread_each(tmp_path: Path) -> None:
    """``start`` returns at once: one watcher thread waits for all the jobs, notices each exit
    and each limit (here one job times out while the others succeed)."""
    runtime = ProcessRuntime()
    results: dict[int, RunResult] = {}
    ended = threading.Condition()
    count = 100
    threads_before = threading.active_count()

    def done(index: int) -> Callable[[RunResult], None]:
        def record(result: RunResult) -> None:
            with ended:
                results[index] = result
                ended.notify_all()

        return record

    for index in range(count):
        folder = tmp_path / f"job{index}"
        folder.mkdir()
        script = "sleep 30" if index == 0 else f"sleep 1; echo {index}"
        spec = spec_for(folder, script, timeout=1.5 if index == 0 else 20)
        runtime.start(spec, None, done(index))
    assert threading.active_count() <= threads_before + 1  # the watcher, and no thread per job
    with ended:
        assert ended.wait_for(lambda: len(results) == count, timeout=30), len(results)
    assert results[0].outcome is Outcome.TIMED_OUT
    assert {results[i].outcome for i in range(1, count)} == {Outcome.SUCCEEDED}
    assert (tmp_path / "job7" / "job.log").read_text() == "7\n"
