"""Who is calling: the one key check (`authorize`) for the API and the screens, and the per-IP rate limit."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request
from pydantic import BaseModel

from assistant.api.errors import AccessDenied
from assistant.api.keys import KeyInfo, role_allows

if TYPE_CHECKING:  # pragma: no cover - typing only
    from assistant.api.services import Services


def key_client_id(key_id: str) -> str:
    """The client id recorded with the turns a key asks (its id, never its name: names can be reused)."""
    return f"key:{key_id}"


class Principal(BaseModel):
    """The caller of one request: a key's name, id and role, or an anonymous client IP."""

    name: str
    role: str | None = None
    key_id: str | None = None
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


def authorize(services: Services, key: str | None, required: str | None, *, route: str) -> KeyInfo:
    """The key's info if `key` is a valid, unrevoked key whose role may act as `required` (None: any role).

    The one check behind every route dependency and every screen action. Raises AccessDenied (401 for a
    missing or invalid key, 403 for the wrong role) and counts the failure in the auth_failures metric.
    """

    def denied(reason: str, message: str) -> AccessDenied:
        services.metrics.count("auth_failures", route=route, reason=reason)
        return AccessDenied(message, status=403 if reason == "role" else 401, reason=reason)

    key = (key or "").strip()
    if not key:
        raise denied("missing", f"this needs an API key with role '{required}'")
    info = services.keys.verify(key)
    if info is None:
        raise denied("invalid", "invalid or revoked API key")
    if required is not None and not role_allows(info.role, required):
        raise denied("role", f"a '{info.role}' key may not do this (needs '{required}')")
    return info


def _services(request: Request) -> Services:
    return request.app.state.services


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return route.path if route is not None else request.url.path


def require_role(required: str | None) -> Callable[[Request], Principal]:
    """A dependency: `None` = public (a key is optional; anonymous callers are rate-limited per IP).

    A wrong key is refused even on public endpoints, so a typo never silently degrades to anonymous.
    """

    def dependency(request: Request) -> Principal:
        services = _services(request)
        route = _route(request)
        key = presented_key(request)
        if key is None and required is None:
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
        # The route needs a key, or one was given (checked even on public routes).
        info = authorize(services, key, required, route=route)
        return Principal(
            name=info.name, role=info.role, key_id=info.key_id, client_id=key_client_id(info.key_id)
        )

    return dependency


public = require_role(None)
clinic = require_role("clinic")
curator = require_role("curator")
reviewer = require_role("reviewer")
