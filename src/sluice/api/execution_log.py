"""ASGI middleware that records every ``POST /run/…`` and ``/job/…`` call in the execution log
once it is answered (OSCAR wraps those two routes in its execution logger)."""

import base64
import binascii
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sluice.core.execution_log import DEFAULT_USER, ExecutionLog, invocation


class ExecutionLogMiddleware:
    def __init__(self, app: ASGIApp, log: ExecutionLog) -> None:
        self._app = app
        self._log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or invocation(scope["method"], scope["path"]) is None:
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, remember_status)
        finally:
            client = scope.get("client")
            self._log.record(
                method=scope["method"],
                path=scope["path"],
                status=status,
                latency=time.perf_counter() - started,
                client_ip=client[0] if client else "",
                user=_caller(scope, status),
            )


def _caller(scope: Scope, status: int) -> str:
    """The Basic user of an accepted call; token callers are anonymous to OSCAR's log too."""
    if status == 401:
        return DEFAULT_USER
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value[:6].lower() == b"basic ":
            try:
                user = base64.b64decode(value[6:], validate=True).split(b":", 1)[0]
                return user.decode("utf-8", errors="replace") or DEFAULT_USER
            except (binascii.Error, ValueError):
                return DEFAULT_USER
    return DEFAULT_USER
