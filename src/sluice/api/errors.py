"""One mapping from Sluice's error tree to HTTP. Bodies are plain text, as OSCAR's are."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from sluice.errors import (
    BackendError,
    Busy,
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
    if isinstance(exc, Busy):
        status = 503 if exc.overloaded else 429
        return PlainTextResponse(str(exc), status_code=status, headers={"Retry-After": "1"})
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


async def _database_busy(_request: Request, exc: Exception) -> Response:
    log.warning("the state database refused a request: %s", exc)
    return PlainTextResponse(
        "the state database is busy or cannot be written now; try again",
        status_code=503,
        headers={"Retry-After": "1"},
    )


async def _unexpected(_request: Request, exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return PlainTextResponse("internal error; see the Sluice log", status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SluiceError, _sluice_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_busy)
    app.add_exception_handler(Exception, _unexpected)
