"""Synchronous invocation (``POST /run``): run a service now and answer with its result.

Every call counts against the same capacity as file jobs; the executor decides how (a CPU and
memory reservation per script run, or a warm worker of a handler service).
"""

from sluice.core.services import ServiceManager
from sluice.domain.results import SyncResult
from sluice.errors import Invalid
from sluice.execution.base import Executor
from sluice.supervisor.body import Body, is_blank


class Invocations:
    def __init__(
        self, services: ServiceManager, executor: Executor, default_timeout: float = 300.0
    ) -> None:
        self._services = services
        self._executor = executor
        self._default_timeout = default_timeout

    def run(self, name: str, body: Body) -> SyncResult:
        record = self._services.get(name)
        if is_blank(body):
            raise Invalid("the request body is empty: send the input, base64-encoded or as is")
        timeout = record.service.timeout or self._default_timeout
        return self._executor.invoke(record, body, timeout)
