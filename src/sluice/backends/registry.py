"""Execution backends by name, imported only when asked for."""

import importlib

from sluice.backends.base import Backend
from sluice.errors import BackendError, Invalid

# name → (module, class); each class is built with no arguments.
_BACKENDS: dict[str, tuple[str, str]] = {
    "process": ("sluice.backends.process", "ProcessBackend"),
}


def known_backends() -> list[str]:
    return sorted(_BACKENDS)


def get_backend(name: str) -> Backend:
    """A new backend instance. Invalid for an unknown name; BackendError when its module
    (or a dependency of it) cannot be imported."""
    try:
        module_name, class_name = _BACKENDS[name]
    except KeyError:
        known = ", ".join(known_backends())
        raise Invalid(f"unknown execution backend {name!r}; known backends: {known}") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendError(f"execution backend {name!r} is not available: {exc}") from exc
    backend: Backend = getattr(module, class_name)()
    return backend
