"""Runtimes: where a command runs (a local process, a container), behind one Protocol."""
