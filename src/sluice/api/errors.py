"""One mapping from Sluice's error tree to HTTP. Bodies are plain text, as OSCAR's are."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException

from sluice.errors import (
    BackendError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    SluiceError,
    StorageError,
    TooLarge,
)

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[SluiceError], int] = {
    TooLarge: 413,
    Invalid: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    StorageError: 502,
    BackendError: 500,
}


def status_for(error: SluiceError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    return 500


async def _sluice_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SluiceError)
    status = status_for(exc)
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, exc)
    return PlainTextResponse(str(exc), status_code=status)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        lines.append(f"{where}: {error['msg']}")
    return PlainTextResponse("\n".join(lines), status_code=400)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=exc.headers)


async def _unexpected(_request: Request, exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return PlainTextResponse("internal error; see the Sluice log", status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SluiceError, _sluice_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
