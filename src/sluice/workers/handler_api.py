"""What a Python handler service's code may import from Sluice.

A service names its code as ``handler: "package.module:function"`` and, optionally,
``init: "package.module:function"``. One worker process imports both once, calls ``init``
once, then serves many invocations, one at a time.

``init``
    Called once per worker, as ``init()`` or, when it takes a positional argument,
    ``init(context)``, where ``context`` is an :class:`InitContext`: the ``service`` name and
    the worker's ``env``. Whatever it returns (a loaded model, say) is the worker's *state*.

Single form (the default)
    ``handler(input_path: str, output_dir: str) -> None | str | bytes``. The handler
    writes its result files into ``output_dir`` (which exists). When it writes no file, a
    returned ``str`` or ``bytes`` is the response text.

Batch form (a handler decorated with :func:`batch`)
    ``handler(inputs: list[str], output_dirs: list[str]) -> None | list[None | str | bytes]``,
    called once per batch of inputs; ``output_dirs[i]`` belongs to ``inputs[i]``.

State
    When the handler accepts a ``state`` parameter (or ``**kwargs``), the value ``init``
    returned is passed as ``state=...``.

Errors and output
    An exception fails that invocation only; its traceback is reported and the worker
    goes on serving. In batch form an exception fails every item of the batch. What the
    handler prints (``print``, ``sys.stderr``, or child processes writing to fd 1 and 2)
    is captured into that invocation's log, capped at 64 KiB by default.

The worker runs the service's own interpreter, which need not have Sluice installed. This
module is then not importable there; mark a batch handler by hand instead::

    handler.__sluice_batch__ = True
"""

from collections.abc import Callable
from typing import Any, TypedDict, TypeVar

__all__ = ["BATCH_ATTRIBUTE", "InitContext", "batch", "is_batch"]

BATCH_ATTRIBUTE = "__sluice_batch__"  # worker_main.py reads it by this name

F = TypeVar("F", bound=Callable[..., Any])


class InitContext(TypedDict):
    service: str
    env: dict[str, str]


def batch(handler: F) -> F:
    """Mark ``handler`` as taking lists of inputs and output directories, once per batch."""
    setattr(handler, BATCH_ATTRIBUTE, True)
    return handler


def is_batch(handler: Callable[..., Any]) -> bool:
    return getattr(handler, BATCH_ATTRIBUTE, False) is True
