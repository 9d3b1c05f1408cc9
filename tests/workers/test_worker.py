"""HandlerWorker against real worker processes: no mocks."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from sluice.errors import BackendError
from sluice.workers.worker import HandlerWorker, WorkerSpec
from tests.workers.conftest import MiB, SpecFactory, write_input

StartWorker = Callable[..., HandlerWorker]


def assert_gone(pid: int) -> None:
    deadline = time.monotonic() + 2
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not psutil.pid_exists(pid), f"process {pid} outlived its worker"


def test_init_runs_once_across_50_invocations(tmp_path: Path, start_worker: StartWorker) -> None:
    worker = start_worker("echo")
    for n in range(50):
        source, out = write_input(tmp_path / "in", f"f{n}.txt", f"text {n}")
        [result] = worker.call([(source, out)], timeout=10)
        assert (result.ok, result.error, result.text) == (True, None, f"model:text {n}")
        assert (out / "out.txt").read_text() == f"TEXT {n}"
    assert (tmp_path / "init.log").read_text() == f"{worker.pid}\n"
    assert worker.invocations == 50
    assert worker.alive


def test_init_without_arguments_and_a_handler_without_state(
    tmp_path: Path, worker_env: dict[str, str]
) -> None:
    (tmp_path / "code" / "plain.py").write_text(
        "def init():\n    return 'unused'\n\ndef run(i, o):\n    return 'plain'\n"
    )
    worker = HandlerWorker(WorkerSpec("plain:run", tmp_path, worker_env, init="plain:init"))
    worker.start(timeout=20)
    try:
        [result] = worker.call([write_input(tmp_path, "a", "")])
    finally:
        worker.close()
    assert result.text == "plain"


def test_init_gets_the_service_name_and_kwargs_get_the_state(
    tmp_path: Path, start_worker: StartWorker
) -> None:
    worker = start_worker("service_name")
    [result] = worker.call([write_input(tmp_path, "a", "")])
    assert result.text == "svc"


def test_returned_bytes_come_back_as_bytes(tmp_path: Path, start_worker: StartWorker) -> None:
    worker = start_worker("returns_bytes", init=None)
    [result] = worker.call([write_input(tmp_path, "a", "")])
    assert result.text == b"\x00\xffbinary"


def test_an_unsupported_return_value_fails_the_invocation(
    tmp_path: Path, start_worker: StartWorker
) -> None:
    worker = start_worker("returns_int", init=None)
    [result] = worker.call([write_input(tmp_path, "a", "")])
    assert not result.ok
    assert "returned a int; expected None, str or bytes" in (result.error or "")


def test_an_exception_fails_only_its_invocation(tmp_path: Path, start_worker: StartWorker) -> None:
    worker = start_worker("fails_on_bad", init=None)
    items = [write_input(tmp_path, name, name) for name in ("good", "bad", "good2")]
    first, failed, last = worker.call(items)
    assert (first.ok, first.text, last.ok, last.text) == (True, "fine", True, "fine")
    assert not failed.ok and failed.text is None
    assert failed.error is not None
    assert failed.error.startswith("Traceback (most recent call last):")
    assert failed.error.rstrip().endswith("ValueError: bad input")
    pid = worker.pid
    assert worker.call([items[0]])[0].ok
    assert (worker.alive, worker.pid) == (True, pid)


def test_sys_exit_fails_the_invocation_not_the_worker(
    tmp_path: Path, start_worker: StartWorker
) -> None:
    worker = start_worker("exits", init=None)
    [result] = worker.call([write_input(tmp_path, "a", "")])
    assert not result.ok and "SystemExit: 7" in (result.error or "")
    assert worker.alive


def test_prints_go_to_the_log_not_the_protocol(tmp_path: Path, start_worker: StartWorker) -> None:
    worker = start_worker("chatty", init=None)
    for _ in range(3):  # each invocation has its own log
        [result] = worker.call([write_input(tmp_path, "a", "")])
        assert result.text == "done"
        lines = result.log.splitlines()
        assert sorted(lines) == sorted(
            ["to stdout", "to stderr", "raw fd 1", "raw fd 2", "from a child", "no newline"]
        )


def test_the_log_is_capped_with_a_note(tmp_path: Path, start_worker: StartWorker) -> None:
    worker = start_worker("big_log", init=None, log_cap=1000)
    [result] = worker.call([write_input(tmp_path, "a", "")])
    assert result.ok
    assert result.log.startswith("y" * 1000 + "\n[sluice] log truncated")
    assert len(result.log) < 1100


def test_a_crash_fails_the_call_and_kills_the_worker(
    tmp_path: Path, start_worker: StartWorker
) -> None:
    worker = start_worker("crash", init=None)
    pid = worker.pid
    assert pid is not None
    results = worker.call([write_input(tmp_path, n, "") for n in ("a", "b")])
    assert [r.error for r in results] == ["worker crashed: exit code 1"] * 2
    assert not any(r.timed_out for r in results)
    assert "about to die" in results[0].log
    assert not worker.alive
    assert_gone(pid)
    with pytest.raises(BackendError, match="not running"):
        worker.call([write_input(tmp_path, "c", "")])


def test_timeout_kills_the_worker(tmp_path: Path, start_worker: StartWorker) -> None:
    worker = start_worker("sleepy", init=None)
    pid = worker.pid
    assert pid is not None
    started = time.monotonic()
    [result] = worker.call([write_input(tmp_path, "a", "30")], timeout=0.5)
    assert result.error == "timed out after 0.5 s"
    assert result.timed_out
    assert time.monotonic() - started < 3
    assert not worker.alive
    assert_gone(pid)


def test_memory_limit_kills_the_worker(tmp_path: Path, start_worker: StartWorker) -> None:
    worker = start_worker("hog", init=None, memory=100 * MiB)
    [result] = worker.call([write_input(tmp_path, "a", "")], timeout=20)
    assert not result.ok
    assert (result.error or "").startswith(
        "worker killed: exceeded the memory limit of 100Mi (peak "
    )
    assert worker.peak_memory > 100 * MiB
    assert not worker.alive


def test_batch_form_receives_lists(tmp_path: Path, start_worker: StartWorker) -> None:
    worker = start_worker("batched")
    items = [write_input(tmp_path, f"f{n}", f"text {n}") for n in range(3)]
    results = worker.call(items)
    assert [r.text for r in results] == ["3:model:f0", "3:model:f1", "3:model:f2"]
    assert [(out / "out.txt").read_text() for _, out in items] == ["text 0", "text 1", "text 2"]


def test_a_batch_exception_fails_every_item(tmp_path: Path, start_worker: StartWorker) -> None:
    worker = start_worker("batch_fails", init=None)
    results = worker.call([write_input(tmp_path, f"f{n}", "") for n in range(2)])
    for result in results:
        assert not result.ok
        assert (result.error or "").rstrip().endswith("RuntimeError: the whole batch")
        assert result.log == "batch of 2\n"
    assert worker.alive


def test_calls_from_threads_take_turns(tmp_path: Path, start_worker: StartWorker) -> None:
    worker = start_worker("sleepy", init=None)
    item = write_input(tmp_path, "a", "0.2")
    threads = [threading.Thread(target=worker.call, args=([item],)) for _ in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started >= 0.6
    assert worker.invocations == 3


def test_close_ends_the_whole_process_group(tmp_path: Path, start_worker: StartWorker) -> None:
    worker = start_worker("spawns_sleeper", init=None)
    [result] = worker.call([write_input(tmp_path, "a", "")])
    pids = [worker.pid, int(str(result.text))]
    worker.close()
    for pid in pids:
        assert pid is not None
        assert_gone(pid)
    assert not worker.alive


def test_close_during_a_call_fails_the_call(tmp_path: Path, start_worker: StartWorker) -> None:
    worker = start_worker("sleepy", init=None)
    results = []
    thread = threading.Thread(
        target=lambda: results.extend(worker.call([write_input(tmp_path, "a", "30")]))
    )
    thread.start()
    time.sleep(0.3)
    worker.close()
    thread.join(timeout=5)
    assert [r.error for r in results] == ["worker crashed: killed by signal SIGTERM"]


def test_the_environment_is_exactly_what_was_given(
    tmp_path: Path, start_worker: StartWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLUICE_TEST_LEAK", "1")
    worker = start_worker("env", init=None)
    [result] = worker.call([write_input(tmp_path, "a", "")])
    assert result.text == "SLUICE_TEST_MARK"


def test_modules_in_the_working_directory_win_over_sluice_files(
    tmp_path: Path, worker_env: dict[str, str]
) -> None:
    service = tmp_path / "service"
    service.mkdir()
    (service / "pool.py").write_text("def run(i, o):\n    return 'the service pool'\n")
    spec = WorkerSpec("pool:run", cwd=service, env={"PATH": worker_env["PATH"]})
    worker = HandlerWorker(spec)
    worker.start(timeout=20)
    try:
        [result] = worker.call([write_input(tmp_path, "a", "")])
    finally:
        worker.close()
    assert result.text == "the service pool"


def test_a_virtualenv_without_sluice(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    probe = subprocess.run([python, "-c", "import sluice"], check=False, capture_output=True)
    assert probe.returncode == 1
    (tmp_path / "bare.py").write_text(
        "def run(inputs, output_dirs):\n    return [str(len(inputs))] * len(inputs)\n\n"
        "run.__sluice_batch__ = True\n"
    )
    spec = WorkerSpec("bare:run", cwd=tmp_path, env={"PATH": os.environ["PATH"]}, python=python)
    worker = HandlerWorker(spec)
    worker.start(timeout=20)
    try:
        results = worker.call([write_input(tmp_path, n, "") for n in ("a", "b")])
    finally:
        worker.close()
    assert [r.text for r in results] == ["2", "2"]


def test_a_failing_init_is_a_backend_error_with_its_traceback(make_spec: SpecFactory) -> None:
    worker = HandlerWorker(make_spec("echo", init="handlers:init_fails"))
    with pytest.raises(BackendError) as caught:
        worker.start(timeout=20)
    message = str(caught.value)
    assert message.startswith("worker for handler 'handlers:echo' did not start: init ")
    assert "RuntimeError: no model here" in message
    assert not worker.alive


def test_a_handler_that_cannot_be_imported(make_spec: SpecFactory) -> None:
    worker = HandlerWorker(make_spec("echo", init=None, env={"PATH": "/usr/bin:/bin"}))
    with pytest.raises(BackendError, match="cannot import module 'handlers': ModuleNotFound"):
        worker.start(timeout=20)


def test_a_worker_that_exits_during_init(make_spec: SpecFactory) -> None:
    worker = HandlerWorker(make_spec("echo", init="handlers:init_exits"))
    with pytest.raises(BackendError, match="did not start: worker crashed: exit code 3"):
        worker.start(timeout=20)


def test_start_times_out(make_spec: SpecFactory) -> None:
    worker = HandlerWorker(make_spec("echo", init="handlers:init_sleeps"))
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"did not start: timed out after 0.5 s"):
        worker.start(timeout=0.5)
    assert time.monotonic() - started < 3


def test_a_missing_interpreter(make_spec: SpecFactory) -> None:
    worker = HandlerWorker(make_spec("echo", python="/nope/python"))
    with pytest.raises(BackendError, match="python '/nope/python' not found"):
        worker.start(timeout=5)
