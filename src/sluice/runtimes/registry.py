"""Runtimes by name, imported only when asked for."""

import importlib

from sluice.errors import BackendError, Invalid
from sluice.runtimes.base import Runtime

# name → (module, class); each class is built with no arguments.
_RUNTIMES: dict[str, tuple[str, str]] = {
    "process": ("sluice.runtimes.process", "ProcessRuntime"),
}


def known_runtimes() -> list[str]:
    return sorted(_RUNTIMES)


def get_runtime(name: str) -> Runtime:
    """A new runtime instance. Invalid for an unknown name; BackendError when its module
    (or a dependency of it) cannot be imported."""
    try:
        module_name, class_name = _RUNTIMES[name]
    except KeyError:
        known = ", ".join(known_runtimes())
        raise Invalid(f"unknown runtime {name!r}; known runtimes: {known}") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendError(f"runtime {name!r} is not available: {exc}") from exc
    runtime: Runtime = getattr(module, class_name)()
    return runtime
