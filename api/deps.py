"""Request dependencies: the process's service, and who is calling with which role."""
from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Principal, authenticate
from api.errors import ApiError
from api.service import Service

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key: `prov_…`.")
bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")


def get_service(request: Request) -> Service:
    return request.app.state.service


def get_principal(
    request: Request,
    key: str | None = Security(api_key_header),
    token: HTTPAuthorizationCredentials | None = Security(bearer),
) -> Principal:
    secret = key or (token.credentials if token else None)
    principal = authenticate(get_service(request).store, secret)
    if principal is None:
        raise ApiError(
            401,
            "unauthorized",
            "missing or invalid API key" if secret else "an API key is required (X-API-Key header or Bearer token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.principal = principal
    return principal


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency that admits only keys of ``roles``."""

    def check(principal: Principal = Depends(get_principal)) -> Principal:
        if principal.role not in roles:
            raise ApiError(403, "forbidden", f"a {principal.role} key may not do this")
        return principal

    return check
