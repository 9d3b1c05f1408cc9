"""Who may call what: the admin (HTTP Basic) everywhere; a service token on its /job and /run.

Wrong admin credentials are counted per client address (``FailedLogins``): after a burst, that
address gets 429 with ``Retry-After`` until its allowance refills, without its credentials
being checked (checking them would tell a guesser when it is right). Nothing ever waits, and
an address whose logins succeed is never counted. Service tokens are 256 random bits, not
guessable, and are not limited: an object store's webhooks often share an address with its
users, and a guesser there must not be able to stall them.
"""

import math
import secrets
import threading
import time
from collections.abc import Callable
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


def _admin_login(request: Request, platform: Platform, basic: HTTPBasicCredentials) -> bool:
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


async def require_admin(request: Request, platform: PlatformDep, basic: BasicCredentials) -> None:
    if basic is None or not _admin_login(request, platform, basic):
        raise HTTPException(401, "invalid or missing admin credentials", headers=CHALLENGE)


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
    if basic is not None and _admin_login(request, platform, basic):
        return
    raise HTTPException(
        401,
        f"a valid token of service {service!r} or the admin's credentials are required",
        headers=CHALLENGE,
    )


AdminOnly = Depends(require_admin)
ServiceCaller = Depends(require_service_caller)
