"""The one exception the client raises."""

import httpx

# Long error pages (a proxy's HTML, say) stay whole in ``detail`` but are cut in the message.
_MESSAGE_LIMIT = 500


class ClientError(Exception):
    """A request failed: the server said no, or it could not be reached.

    ``status_code`` is None when no response came back; ``detail`` is the server's text.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        detail: str = "",
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.detail = detail
        self.method = method
        self.path = path

    @classmethod
    def from_response(cls, method: str, path: str, response: httpx.Response) -> "ClientError":
        detail = response.text.strip()
        shown = detail or response.reason_phrase
        if len(shown) > _MESSAGE_LIMIT:
            shown = shown[:_MESSAGE_LIMIT] + "…"
        return cls(
            f"{method} {path}: {response.status_code} {shown}".rstrip(),
            status_code=response.status_code,
            detail=detail,
            method=method,
            path=path,
        )

    @classmethod
    def unreachable(cls, endpoint: str, method: str, path: str, exc: Exception) -> "ClientError":
        return cls(
            f"cannot reach Sluice at {endpoint}: {_reason(exc)}; is `sluice up` running?",
            method=method,
            path=path,
        )

    @classmethod
    def timed_out(cls, method: str, path: str, seconds: float | None) -> "ClientError":
        after = f" after {seconds:g}s" if seconds else ""
        return cls(f"{method} {path}: timed out{after}", method=method, path=path)


def _reason(exc: Exception) -> str:
    text = str(exc)
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "unknown host"
    return text or type(exc).__name__
