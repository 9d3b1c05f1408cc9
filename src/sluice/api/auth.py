"""Who may call what: the admin (HTTP Basic) everywhere; a service token on its /job and /run."""

import secrets
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

basic_scheme = HTTPBasic(auto_error=False, description="The Sluice admin (default user oscar).")
bearer_scheme = HTTPBearer(auto_error=False, description="A service's 64-character token.")

BasicCredentials = Annotated[HTTPBasicCredentials | None, Depends(basic_scheme)]
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def _is_admin(platform: Platform, basic: HTTPBasicCredentials | None) -> bool:
    if basic is None:
        return False
    user_ok = secrets.compare_digest(basic.username.encode(), platform.admin.user.encode())
    password_ok = secrets.compare_digest(basic.password.encode(), platform.admin.password.encode())
    return user_ok and password_ok


def require_admin(platform: PlatformDep, basic: BasicCredentials) -> None:
    if not _is_admin(platform, basic):
        raise HTTPException(401, "invalid or missing admin credentials", headers=CHALLENGE)


def require_service_caller(
    service: str, platform: PlatformDep, basic: BasicCredentials, bearer: BearerCredentials
) -> None:
    """``/job/{service}`` and ``/run/{service}``: that service's token, or the admin."""
    if bearer is not None and platform.services.token_matches(service, bearer.credentials):
        return
    if _is_admin(platform, basic):
        return
    raise HTTPException(
        401,
        f"a valid token of service {service!r} or the admin's credentials are required",
        headers=CHALLENGE,
    )


AdminOnly = Depends(require_admin)
ServiceCaller = Depends(require_service_caller)
