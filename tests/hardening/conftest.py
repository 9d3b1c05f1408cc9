"""The hardening suite runs in-process, on the fixtures of ``tests/inprocess``: the real ledger
(SQLite in a temp dir), an in-memory object store, a fake executor and a FastAPI TestClient."""

from tests.inprocess.conftest import ADMIN, api, executor, platform, service_body, store

__all__ = ["ADMIN", "api", "executor", "platform", "service_body", "store"]
