"""Running Sluice: the composition root and the ``sluice up`` process."""

from sluice.server.run import serve

__all__ = ["serve"]
