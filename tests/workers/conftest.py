"""Handler modules written into a temporary folder, and worker specs that import them."""

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sluice.workers.worker import HandlerWorker, WorkerSpec

MiB = 2**20

HANDLERS = """
import os
import sys
import time
from pathlib import Path

from sluice.workers.handler_api import batch


def init(context):
    with open(context["env"]["INIT_LOG"], "a") as log:
        log.write(f"{os.getpid()}\\n")
    return {"prefix": "model", "service": context["service"]}


def init_fails():
    raise RuntimeError("no model here")


def init_exits():
    os._exit(3)


def init_sleeps():
    time.sleep(30)


def echo(input_path, output_dir, state):
    text = Path(input_path).read_text()
    Path(output_dir, "out.txt").write_text(text.upper())
    return f"{state['prefix']}:{text}"


def service_name(input_path, output_dir, **extra):
    return extra["state"]["service"]


def stateless(input_path, output_dir):
    return f"{os.getpid()}"


def returns_bytes(input_path, output_dir):
    return b"\\x00\\xffbinary"


def returns_int(input_path, output_dir):
    return 3


def fails_on_bad(input_path, output_dir):
    if "bad" in Path(input_path).read_text():
        raise ValueError("bad input")
    return "fine"


def exits(input_path, output_dir):
    sys.exit(7)


def chatty(input_path, output_dir):
    print("to stdout")
    print("to stderr", file=sys.stderr)
    os.write(1, b"raw fd 1\\n")
    os.write(2, b"raw fd 2\\n")
    os.system("echo from a child")
    sys.stdout.write("no newline")
    return "done"


def big_log(input_path, output_dir):
    print("y" * 200_000)
    return "done"


def crash(input_path, output_dir):
    print("about to die", flush=True)
    os._exit(1)


def sleepy(input_path, output_dir):
    time.sleep(float(Path(input_path).read_text()))
    return "awake"


def spawns_sleeper(input_path, output_dir):
    import subprocess
    return str(subprocess.Popen(["sleep", "100"]).pid)


def hog(input_path, output_dir):
    data = b"x" * (200 * 2**20)
    time.sleep(10)
    return str(len(data))


def env(input_path, output_dir):
    return ",".join(sorted(k for k in os.environ if k.startswith("SLUICE_T")))


@batch
def batched(inputs, output_dirs, state):
    for input_path, output_dir in zip(inputs, output_dirs):
        Path(output_dir, "out.txt").write_text(Path(input_path).read_text())
    return [f"{len(inputs)}:{state['prefix']}:{Path(p).name}" for p in inputs]


@batch
def batch_fails(inputs, output_dirs):
    print("batch of", len(inputs))
    raise RuntimeError("the whole batch")


not_callable = 42
"""


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "handlers.py").write_text(textwrap.dedent(HANDLERS))
    return code


@pytest.fixture
def worker_env(tmp_path: Path, code_dir: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(code_dir),
        "INIT_LOG": str(tmp_path / "init.log"),
        "SLUICE_TEST_MARK": "1",
    }


SpecFactory = Callable[..., WorkerSpec]


@pytest.fixture
def make_spec(tmp_path: Path, worker_env: dict[str, str]) -> SpecFactory:
    def make(handler: str, init: str | None = "handlers:init", **fields: object) -> WorkerSpec:
        fields.setdefault("cwd", tmp_path)
        fields.setdefault("env", worker_env)
        return WorkerSpec(f"handlers:{handler}", init=init, service="svc", **fields)  # type: ignore[arg-type]

    return make


@pytest.fixture
def start_worker(make_spec: SpecFactory) -> Iterator[Callable[..., HandlerWorker]]:
    """Started workers, closed at the end of the test."""
    workers: list[HandlerWorker] = []

    def start(handler: str, init: str | None = "handlers:init", **fields: object) -> HandlerWorker:
        worker = HandlerWorker(make_spec(handler, init, **fields))
        workers.append(worker)
        worker.start(timeout=20)
        return worker

    yield start
    for worker in workers:
        worker.close()


def write_input(folder: Path, name: str, text: str) -> tuple[Path, Path]:
    """An input file and an output folder for it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path, folder / f"{name}.out"
