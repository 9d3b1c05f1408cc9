"""check_handler against real interpreters."""

import re
import sys
from pathlib import Path

import pytest

from sluice.errors import Invalid
from sluice.workers.check import check_handler


def check(handler: str, init: str | None = None, *, env: dict[str, str], **options: object) -> None:
    python = str(options.pop("python", sys.executable))
    check_handler(python, handler, init, options.pop("cwd", None), env, **options)  # type: ignore[arg-type]


def test_a_good_handler_and_init_pass(worker_env: dict[str, str], tmp_path: Path) -> None:
    check("handlers:echo", "handlers:init", env=worker_env)
    assert not (tmp_path / "init.log").exists()  # resolved, never called


@pytest.mark.parametrize("target", ["handlers", "handlers:", ":echo", "a b:c", "m:f:g", "m.:f"])
def test_the_form_is_module_colon_function(target: str, worker_env: dict[str, str]) -> None:
    expected = f"handler {target!r} must be of the form 'module:function'"
    with pytest.raises(Invalid, match=re.escape(expected)):
        check(target, env=worker_env)


def test_a_module_that_does_not_exist(worker_env: dict[str, str]) -> None:
    with pytest.raises(Invalid) as caught:
        check("pkg.mod:fn", env=worker_env)
    assert str(caught.value) == (
        "handler 'pkg.mod:fn': cannot import module 'pkg.mod': "
        "ModuleNotFoundError: No module named 'pkg'"
    )


def test_a_module_that_fails_to_import(worker_env: dict[str, str], code_dir: Path) -> None:
    (code_dir / "broken.py").write_text("def f(:\n")
    with pytest.raises(Invalid, match=r"cannot import module 'broken': SyntaxError: .*line 1"):
        check("broken:f", env=worker_env)


def test_a_missing_attribute(worker_env: dict[str, str]) -> None:
    with pytest.raises(Invalid) as caught:
        check("handlers:nope", env=worker_env)
    assert str(caught.value) == "handler 'handlers:nope': module 'handlers' has no attribute 'nope'"


def test_something_not_callable(worker_env: dict[str, str]) -> None:
    with pytest.raises(Invalid) as caught:
        check("handlers:not_callable", env=worker_env)
    assert str(caught.value) == (
        "handler 'handlers:not_callable': 'not_callable' is not callable (type int)"
    )


def test_init_errors_name_the_init(worker_env: dict[str, str]) -> None:
    with pytest.raises(Invalid, match=r"^init 'handlers:gone': module 'handlers' has no attr"):
        check("handlers:echo", "handlers:gone", env=worker_env)
    with pytest.raises(Invalid, match=r"^init 'handlers' must be of the form"):
        check("handlers:echo", "handlers", env=worker_env)


def test_prints_at_import_do_not_confuse_the_check(
    worker_env: dict[str, str], code_dir: Path
) -> None:
    (code_dir / "noisy.py").write_text("print('hello' * 1000)\ndef f(i, o):\n    pass\n")
    check("noisy:f", env=worker_env)


def test_a_missing_interpreter(worker_env: dict[str, str]) -> None:
    with pytest.raises(Invalid, match=r"^python '/nope' not found$"):
        check("handlers:echo", env=worker_env, python="/nope")


def test_something_that_is_not_python_is_never_run(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(Invalid, match=r"^python '/bin/true' is not a Python interpreter"):
        check("handlers:echo", env=worker_env, python="/bin/true")
    impostor = tmp_path / "python3"  # named like one, but a script that would leave a mark
    impostor.write_text(f"#!/bin/sh\ntouch {tmp_path}/ran\n")
    impostor.chmod(0o755)
    with pytest.raises(Invalid, match=r"could not check handler"):
        check("handlers:echo", env=worker_env, python=str(impostor))
    assert (tmp_path / "ran").exists()  # a file named python3 is run: it answers nonsense


def test_a_missing_working_directory(worker_env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(Invalid, match=r"working directory .* does not exist"):
        check("handlers:echo", env=worker_env, cwd=tmp_path / "gone")


def test_a_slow_import_times_out(worker_env: dict[str, str], code_dir: Path) -> None:
    (code_dir / "slow.py").write_text("import time\ntime.sleep(30)\ndef f(i, o):\n    pass\n")
    with pytest.raises(Invalid, match=r"importing took longer than 0\.5 s"):
        check("slow:f", env=worker_env, timeout=0.5)
