"""The object store's webhook, answered before the app's middleware and routing.

Every upload, and every output a job writes, is one notification: the busiest request the
manager serves, from one trusted sender. Going through FastAPI's stack (routing over every
route, dependencies, the execution log, exception and body-limit middleware) cost about as
much manager CPU as the rest of the job, so this path takes the body straight from ASGI and
gives it to the same steps the declared route runs (``take_store_event``).
"""

from starlette.types import ASGIApp, Receive, Scope, Send

from sluice.api.ports import Platform
from sluice.api.routes.events import take_store_event

PATH = "/events/seaweedfs"
MAX_BODY = 1 << 20  # bytes: a notification is a few KiB; a megabyte is no notification


class StoreEvents:
    def __init__(self, app: ASGIApp, platform: Platform) -> None:
        self._app = app
        self._platform = platform

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self._app(scope, receive, send)
            return
        raw = await _body(receive)
        if raw is None:
            status, text = 413, f"event body: larger than {MAX_BODY} bytes"
        else:
            client = scope.get("client")
            authorization = _header(scope, b"authorization")
            status, text = await take_store_event(
                self._platform, authorization, raw, client[0] if client else ""
            )
        await _answer(send, status, text)


async def _body(receive: Receive) -> bytes | None:
    """The request body, or None once it grows past MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _answer(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
