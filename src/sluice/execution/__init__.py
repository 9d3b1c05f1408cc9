"""Executors: how a service's work is run. File jobs and ``/run`` calls both go through one
``Executor``; which one serves a service (script or handler, here or on a cluster) is decided
once, at wiring time and in ``ByKind``."""
