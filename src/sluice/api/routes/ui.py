"""The web UI's page, its static files (shipped inside the package) and its login."""

from importlib import resources
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.security import HTTPBasicCredentials

from sluice.api.auth import (
    CSRF_HEADER,
    SESSION_COOKIE,
    SESSION_SECONDS,
    PlatformDep,
    Sessions,
    admin_login,
    session_of,
)
from sluice.api.body import read_json

router = APIRouter(include_in_schema=False)

ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "logo.svg": "image/svg+xml",
}
# Nothing outside this origin: no CDN, font or analytics can load, so the UI works offline.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _asset(name: str) -> bytes:
    return resources.files("sluice").joinpath("ui", name).read_bytes()


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui")
@router.get("/ui/")
async def page() -> Response:
    """One page; the screens are drawn by ``app.js`` from the API."""
    return Response(_asset("index.html"), media_type="text/html", headers=SECURITY_HEADERS)


@router.get("/ui/assets/{name}")
async def asset(name: str) -> Response:
    if name not in ASSETS:
        raise HTTPException(404, "no such asset")
    return Response(_asset(name), media_type=ASSETS[name], headers=SECURITY_HEADERS)


@router.post("/ui/login")
async def login(request: Request, platform: PlatformDep) -> Response:
    """The admin's user and password (JSON) give a session cookie and its CSRF token."""
    body = await read_json(request, "the login")
    user = body.get("user") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(user, str) or not isinstance(password, str):
        raise HTTPException(400, "send {'user': ..., 'password': ...}")
    if not admin_login(request, platform, HTTPBasicCredentials(username=user, password=password)):
        raise HTTPException(401, "wrong user name or password")
    sessions: Sessions = request.app.state.sessions
    key, session = sessions.open(user)
    response = JSONResponse(_session_body(platform, user, session.csrf))
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/ui/session")
async def current_session(request: Request, platform: PlatformDep) -> dict[str, Any]:
    """Who is logged in, with the CSRF token to send on changes; 401 when nobody is."""
    session = session_of(request)
    if session is None:
        raise HTTPException(401, "not logged in")
    return _session_body(platform, session.user, session.csrf)


@router.post("/ui/logout", status_code=204)
async def logout(request: Request) -> Response:
    key = request.cookies.get(SESSION_COOKIE)
    if key and session_of(request) is not None:
        sessions: Sessions = request.app.state.sessions
        sessions.close(key)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _session_body(platform: PlatformDep, user: str, csrf: str) -> dict[str, Any]:
    return {
        "user": user,
        "csrf": csrf,
        "csrf_header": CSRF_HEADER,
        "max_upload": platform.settings.max_body_bytes,
    }
