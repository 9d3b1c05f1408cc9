"""Who may call what: the admin (HTTP Basic) everywhere; a service token on its /job and /run.

Wrong admin credentials are counted per client address (``FailedLogins``): after a burst, that
address gets 429 with ``Retry-After`` until its allowance refills, without its credentials
being checked (checking them would tell a guesser when it is right). Nothing ever waits, and
an address whose logins succeed is never counted. Service tokens are 256 random bits, not
guessable, and are not limited: an object store's webhooks often share an address with its
users, and a guesser there must not be able to stall them.

The web UI logs in once with the admin's credentials and then holds a session cookie
(``HttpOnly``, ``SameSite=Strict``): a cookie counts as the admin's Basic credentials, and a
call that changes anything (any method but GET, HEAD, OPTIONS) must also carry the session's
CSRF token in ``X-CSRF-Token``, which a page of another origin cannot read.
"""

import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from sluice.api.ports import Platform

CHALLENGE = {"WWW-Authenticate": 'Basic realm="Authorization Required"'}
LOGIN_BURST = 10  # wrong logins an address may make at once
LOGIN_INTERVAL = 5.0  # seconds in which it earns one more
MAX_ADDRESSES = 10_000
SESSION_COOKIE = "sluice_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 1000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
UI_HEADER = "X-Sluice-UI"  # the web UI's calls: a 401 without a Basic challenge (no browser prompt)


class FailedLogins:
    """A token bucket per client address, spent only by failed logins."""

    def __init__(
        self,
        burst: int = LOGIN_BURST,
        interval: float = LOGIN_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._burst = burst
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (allowance, when)

    def retry_after(self, address: str) -> int:
        """Whole seconds until ``address`` may try a login again; 0 when it may now."""
        with self._lock:
            allowance = self._allowance(address, self._clock())
        return 0 if allowance >= 1 else math.ceil((1 - allowance) * self._interval)

    def failed(self, address: str) -> None:
        with self._lock:
            now = self._clock()
            allowance = self._allowance(address, now)
            if len(self._buckets) >= MAX_ADDRESSES and address not in self._buckets:
                self._forget_refilled(now)
            self._buckets[address] = (max(allowance - 1, 0.0), now)

    def _allowance(self, address: str, now: float) -> float:
        allowance, when = self._buckets.get(address, (float(self._burst), now))
        return min(float(self._burst), allowance + (now - when) / self._interval)

    def _forget_refilled(self, now: float) -> None:
        """Drop addresses whose allowance is full again; if none is, the oldest half."""
        full = [a for a in self._buckets if self._allowance(a, now) >= self._burst]
        if not full:
            by_age = sorted(self._buckets, key=lambda a: self._buckets[a][1])
            full = by_age[: len(by_age) // 2 + 1]
        for address in full:
            del self._buckets[address]


@dataclass(frozen=True)
class Session:
    user: str
    csrf: str
    expires: float


class Sessions:
    """The web UI's logged-in sessions, in memory: a restart logs everyone out."""

    def __init__(
        self, lifetime: float = SESSION_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self._lifetime = lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def open(self, user: str) -> tuple[str, Session]:
        """A new session: its cookie value and the session (with its CSRF token)."""
        key = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(32), self._clock() + self._lifetime)
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._forget_expired_or_oldest()
            self._sessions[key] = session
        return key, session

    def get(self, key: str) -> Session | None:
        with self._lock:
            session = self._sessions.get(key)
            if session is not None and session.expires <= self._clock():
                del self._sessions[key]
                return None
            return session

    def close(self, key: str) -> None:
        with self._lock:
            self._sessions.pop(key, None)

    def _forget_expired_or_oldest(self) -> None:
        now = self._clock()
        expired = [key for key, s in self._sessions.items() if s.expires <= now]
        if not expired:
            expired = [min(self._sessions, key=lambda key: self._sessions[key].expires)]
        for key in expired:
            del self._sessions[key]


def session_of(request: Request) -> Session | None:
    """The request's UI session, if its cookie names a live one."""
    key = request.cookies.get(SESSION_COOKIE)
    sessions: Sessions | None = getattr(request.app.state, "sessions", None)
    if not key or sessions is None:
        return None
    return sessions.get(key)


def _session_admin(request: Request) -> bool:
    """True when a UI session stands for the admin; 403 for a change without its CSRF token."""
    session = session_of(request)
    if session is None:
        return False
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not secrets.compare_digest(sent.encode(), session.csrf.encode()):
            raise HTTPException(403, f"missing or wrong {CSRF_HEADER} for this session")
    return True


basic_scheme = HTTPBasic(auto_error=False, description="The Sluice admin (default user oscar).")
bearer_scheme = HTTPBearer(auto_error=False, description="A service's 64-character token.")

BasicCredentials = Annotated[HTTPBasicCredentials | None, Depends(basic_scheme)]
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


# The dependencies below are coroutines on purpose: FastAPI runs a plain function on a worker
# thread, a hop each request would pay; they only compare what is in memory (a service's token
# comes from a short-lived cache, read from the database on a miss).


async def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def _is_admin(platform: Platform, basic: HTTPBasicCredentials) -> bool:
    user_ok = secrets.compare_digest(basic.username.encode(), platform.admin.user.encode())
    password_ok = secrets.compare_digest(basic.password.encode(), platform.admin.password.encode())
    return user_ok and password_ok


def admin_login(request: Request, platform: Platform, basic: HTTPBasicCredentials) -> bool:
    """Check admin credentials, counting failures per address; 429 while it is over its burst."""
    failures: FailedLogins = request.app.state.failed_logins
    address = request.client.host if request.client else "unknown"
    wait = failures.retry_after(address)
    if wait:
        raise HTTPException(
            429,
            f"too many failed logins from {address}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    if _is_admin(platform, basic):
        return True
    failures.failed(address)
    return False


def _challenge(request: Request) -> dict[str, str] | None:
    """Basic's challenge, except to the web UI: a browser answers it with its own login box."""
    from_ui = request.url.path.startswith("/ui/") or UI_HEADER in request.headers
    return None if from_ui else CHALLENGE


async def require_admin(request: Request, platform: PlatformDep, basic: BasicCredentials) -> None:
    if basic is None and _session_admin(request):
        return
    if basic is None or not admin_login(request, platform, basic):
        raise HTTPException(
            401, "invalid or missing admin credentials", headers=_challenge(request)
        )


async def require_service_caller(
    service: str,
    request: Request,
    platform: PlatformDep,
    basic: BasicCredentials,
    bearer: BearerCredentials,
) -> None:
    """``/job/{service}`` and ``/run/{service}``: that service's token, or the admin."""
    if bearer is not None and platform.services.token_matches(service, bearer.credentials):
        return
    if basic is not None and admin_login(request, platform, basic):
        return
    if basic is None and _session_admin(request):
        return
    raise HTTPException(
        401,
        f"a valid token of service {service!r} or the admin's credentials are required",
        headers=_challenge(request),
    )


AdminOnly = Depends(require_admin)
ServiceCaller = Depends(require_service_caller)
