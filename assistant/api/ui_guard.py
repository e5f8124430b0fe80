"""The Gradio screens' side of the trust boundary (issue 14 items 3 and 4).

Gradio's own routes write and serve files: `POST /gradio_api/upload` stores whatever it is sent, and
`/gradio_api/file=…` serves it back. Only the knowledge screen uses them (a curator's statute upload),
so they need the same key as that screen: sent as a header by API clients, or — for the browser, whose
Gradio client cannot add headers — through a short-lived HttpOnly session cookie that the screen opens
with the key the curator typed (`POST /ui/session`). Uploads have /v1's per-request file count limit (the
byte limits are BodySizeLimit's and Gradio's `max_file_size`), and a screen only ever reads a file that
this server received into its upload folder, never a path the client names.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.auth import authorize, presented_key
from assistant.api.errors import AccessDenied, error_body
from assistant.api.keys import role_allows
from assistant.api.limits import ResponseTracker
from assistant.api.uploads import MAX_FILES_PER_UPLOAD, UploadRejected

if TYPE_CHECKING:  # pragma: no cover - typing only
    from assistant.api.services import Services

SESSION_COOKIE = "yiju_ui_session"
SESSION_TTL_S = 8 * 3600
UPLOAD_ROLE = "curator"  # the knowledge screen's role: the only screen with a file input
UPLOAD_PATHS = ("/gradio_api/upload", "/gradio_api/upload/")
FILE_PREFIXES = ("/gradio_api/file=", "/gradio_api/file/")


def upload_folder() -> Path:
    """Where Gradio writes what it receives (GRADIO_TEMP_DIR; `yiju serve` points it into the data directory)."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def received_file(path: str | Path) -> Path:
    """`path` resolved, if it is a file this server received through its upload route; else UploadRejected.

    Screens call this before reading any file a request names: a client-chosen path such as /etc/passwd
    (or a link out of the folder) is refused, whatever Gradio let through.
    """
    name = Path(str(path)).name
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        raise UploadRejected(name, "not a file this server received; upload it again") from None
    if not resolved.is_relative_to(upload_folder()) or not resolved.is_file():
        raise UploadRejected(name, "not a file this server received; upload it again", 403)
    return resolved


class UiSessions:
    """Browser sessions of the screens: random token → key id, expiring, at most `max_sessions` kept.

    Only the key id is remembered: each use checks the key again (a revoked key ends its sessions).
    """

    def __init__(self, ttl_s: float = SESSION_TTL_S, max_sessions: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, key_id: str) -> str:
        """A new session token for `key_id`."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[token] = (key_id, time.monotonic() + self.ttl_s)
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return token

    def key_id(self, token: str | None) -> str | None:
        """The key id of a live session, or None."""
        if not token:
            return None
        with self._lock:
            found = self._sessions.get(token)
            if found is None:
                return None
            if found[1] < time.monotonic():
                del self._sessions[token]
                return None
            return found[0]

    def close(self, token: str | None) -> None:
        """End a session (logout, or the key field emptied)."""
        with self._lock:
            self._sessions.pop(token or "", None)


def _services(request: Request) -> Services:
    return request.app.state.services


router = APIRouter(include_in_schema=False)


@router.post("/ui/session")
def open_session(request: Request) -> JSONResponse:
    """Exchange the key a screen's user typed (Authorization header) for an HttpOnly session cookie."""
    services = _services(request)
    info = authorize(services, presented_key(request), None, route="/ui/session")
    response = JSONResponse(
        {"name": info.name, "role": info.role, "uploads": role_allows(info.role, UPLOAD_ROLE)}
    )
    response.set_cookie(
        SESSION_COOKIE,
        services.ui_sessions.open(info.key_id),
        max_age=int(SESSION_TTL_S),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.delete("/ui/session")
def close_session(request: Request) -> JSONResponse:
    """Forget the browser's session."""
    _services(request).ui_sessions.close(request.cookies.get(SESSION_COOKIE))
    response = JSONResponse({"closed": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


class _TooManyFiles(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"at most {limit} files per upload")


class GradioGuard:
    """ASGI middleware in front of the mounted Gradio app: its upload and file routes need a curator key."""

    def __init__(self, app: ASGIApp, services: Services, max_files: int = MAX_FILES_PER_UPLOAD) -> None:
        self.app = app
        self.services = services
        self.max_files = max_files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path in UPLOAD_PATHS:
            if not await self._allowed(scope, send, route="/gradio_api/upload"):
                return
            await self._counted_upload(scope, receive, send)
            return
        if path.startswith(FILE_PREFIXES) and self._names_a_received_file(path):
            if not await self._allowed(scope, send, route="/gradio_api/file"):
                return
        await self.app(scope, receive, send)

    def _names_a_received_file(self, path: str) -> bool:
        prefix = next(p for p in FILE_PREFIXES if path.startswith(p))
        target = unquote(path[len(prefix) :])
        try:
            return Path(target).resolve().is_relative_to(upload_folder())
        except (OSError, RuntimeError, ValueError):
            return True  # unreadable names get the strict treatment

    async def _allowed(self, scope: Scope, send: Send, route: str) -> bool:
        """Whether the request carries a curator key (header) or a curator's screen session (cookie)."""
        request = Request(scope)
        try:
            key = presented_key(request)
            if key is not None:
                authorize(self.services, key, UPLOAD_ROLE, route=route)
                return True
            key_id = self.services.ui_sessions.key_id(_cookie(scope, SESSION_COOKIE))
            info = self.services.keys.active(key_id) if key_id else None
            if info is None:
                self.services.metrics.count("auth_failures", route=route, reason="missing")
                raise AccessDenied(
                    f"uploading needs an API key with role '{UPLOAD_ROLE}': enter it on the knowledge screen "
                    "first, or send it as Authorization: Bearer …",
                    status=401,
                    reason="missing",
                )
            if not role_allows(info.role, UPLOAD_ROLE):
                self.services.metrics.count("auth_failures", route=route, reason="role")
                raise AccessDenied(
                    f"a '{info.role}' key may not do this (needs '{UPLOAD_ROLE}')", status=403, reason="role"
                )
            return True
        except AccessDenied as exc:
            response = JSONResponse(error_body(exc.status, str(exc)), status_code=exc.status)
            await response(scope, _drain(scope), send)
            return False

    async def _counted_upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the upload on, refusing it (413) once its multipart body holds more than `max_files` parts."""
        boundary = _multipart_boundary(scope)
        if boundary is None:
            await self.app(scope, receive, send)
            return
        delimiter = b"--" + boundary
        seen, tail = 0, b""

        async def counting_receive() -> Message:
            nonlocal seen, tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = tail + message.get("body", b"")
                seen += chunk.count(delimiter)  # the tail is shorter than a delimiter: nothing counted twice
                tail = chunk[-(len(delimiter) - 1) :] if len(delimiter) > 1 else b""
                # n parts are framed by n delimiters plus the closing one.
                if seen - 1 > self.max_files:
                    raise _TooManyFiles(self.max_files)
            return message

        tracked = ResponseTracker(send)
        try:
            await self.app(scope, counting_receive, tracked)
        except _TooManyFiles as exc:
            if not tracked.started:
                response = JSONResponse(error_body(413, str(exc.detail)), status_code=413)
                await response(scope, receive, send)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == b"cookie":
            morsel = SimpleCookie(value.decode("latin-1")).get(name)
            if morsel is not None:
                return morsel.value
    return None


def _multipart_boundary(scope: Scope) -> bytes | None:
    for key, value in scope.get("headers") or []:
        if key == b"content-type" and value.lower().startswith(b"multipart/"):
            for param in value.split(b";")[1:]:
                name, _, raw = param.strip().partition(b"=")
                if name.lower() == b"boundary" and raw:
                    return raw.strip(b'"')
    return None


def _drain(scope: Scope) -> Receive:
    async def nothing() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    return nothing
