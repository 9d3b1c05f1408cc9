"""The hardening suite runs in-process, on the fixtures of ``tests/inprocess``: the real ledger
(SQLite in a temp dir), an in-memory object store, a fake executor and a FastAPI TestClient."""

from collections import Counter

import pytest

from tests.inprocess.conftest import ADMIN, api, executor, platform, service_body, store

__all__ = [
    "ADMIN",
    "BY_OPERATION",
    "SERVED",
    "api",
    "executor",
    "platform",
    "service_body",
    "store",
]

# What the fuzz suite sent: "operations" (runs), "requests", "2xx", "4xx", "5xx", ...
SERVED: Counter[str] = Counter()
BY_OPERATION: Counter[str] = Counter()  # cases, by "METHOD /path" (and run)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fuzz suite's figures (for docs/reliability.md), when it ran."""
    if not SERVED["requests"]:
        return
    statuses = ", ".join(f"{kind} {SERVED[kind]}" for kind in ("2xx", "3xx", "4xx", "5xx"))
    terminalreporter.write_line(
        f"schemathesis: {SERVED['requests']} requests in {SERVED['operations']} operation runs "
        f"({statuses})"
    )
    for label, count in sorted(BY_OPERATION.items()):
        terminalreporter.write_line(f"  {count:5d}  {label}")
