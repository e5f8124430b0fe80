"""Who is calling: API-key authentication, role checks and the public per-IP rate limit."""

from __future__ import annotations

import math
from collections.abc import Callable

from fastapi import HTTPException, Request
from pydantic import BaseModel

from assistant.api.keys import role_allows
from assistant.api.services import Services


class Principal(BaseModel):
    """The caller of one request: a key's name and role, or an anonymous client IP."""

    name: str
    role: str | None = None
    client_id: str

    @property
    def anonymous(self) -> bool:
        """True when no key was given."""
        return self.role is None


def presented_key(request: Request) -> str | None:
    """The key from `Authorization: Bearer …` or `X-API-Key`, or None when neither is sent."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    value = request.headers.get("x-api-key", "").strip()
    return value or None


def client_ip(request: Request) -> str:
    """The socket peer address. X-Forwarded-For is ignored on purpose: it is trivially spoofed."""
    return request.client.host if request.client else "unknown"


def _services(request: Request) -> Services:
    return request.app.state.services


def _unauthorized(services: Services, route: str, reason: str, message: str) -> HTTPException:
    services.metrics.count("auth_failures", route=route, reason=reason)
    status = 403 if reason == "role" else 401
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status_code=status, detail=message, headers=headers)


def require_role(required: str | None) -> Callable[[Request], Principal]:
    """A dependency: `None` = public (a key is optional; anonymous callers are rate-limited per IP).

    A wrong key is refused even on public endpoints, so a typo never silently degrades to anonymous.
    """

    def dependency(request: Request) -> Principal:
        services = _services(request)
        route = request.scope.get("route").path if request.scope.get("route") else request.url.path
        key = presented_key(request)
        if key is None:
            if required is not None:
                raise _unauthorized(
                    services, route, "missing", f"this endpoint needs an API key with role '{required}'"
                )
            ip = client_ip(request)
            retry = services.public_limiter.check(ip)
            if retry is not None:
                services.metrics.count("rate_limited", route=route)
                raise HTTPException(
                    status_code=429,
                    detail=(
                        f"rate limit: {services.public_limiter.per_minute} requests per minute without an API key; "
                        f"retry in {math.ceil(retry)} s"
                    ),
                    headers={"Retry-After": str(max(1, math.ceil(retry)))},
                )
            return Principal(name=f"anonymous@{ip}", client_id=ip)
        info = services.keys.verify(key)
        if info is None:
            raise _unauthorized(services, route, "invalid", "invalid or revoked API key")
        if required is not None and not role_allows(info.role, required):
            raise _unauthorized(
                services, route, "role", f"a '{info.role}' key may not use this endpoint (needs '{required}')"
            )
        return Principal(name=info.name, role=info.role, client_id=f"key:{info.name}")

    return dependency


public = require_role(None)
clinic = require_role("clinic")
curator = require_role("curator")
reviewer = require_role("reviewer")
