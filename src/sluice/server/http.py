"""uvicorn's HTTP/1.1 protocol (httptools: C parsing, about a millisecond of manager CPU less per
webhook request than h11's pure Python) with a deadline for request headers: a client that
opens a connection and never finishes its headers (or trickles them) is disconnected, so idle
or half-sent connections cannot pile up. Bodies may be slow: large uploads are legitimate."""

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = 10.0  # seconds; Settings.header_timeout sets it for a running server


class GuardedHttpProtocol(HttpToolsProtocol):
    header_timeout = HEADER_TIMEOUT
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_headers()  # until the first request's headers are in

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._watch_headers()  # a request has begun and its headers are not all here

    def on_headers_complete(self) -> None:
        self._stop_watching()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_watching()
        super().connection_lost(exc)

    def _watch_headers(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _stop_watching(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
