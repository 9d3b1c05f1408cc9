"""Warm Python handler workers: a process that imports a handler once, runs its ``init``
once, then serves many invocations; and the pool that scales them.

Nothing is imported here, so that ``sluice.workers.handler_api`` stays cheap to import
inside user worker processes.
"""
