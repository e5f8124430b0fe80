"""Per-client rate limiting and request-size limits for the HTTP service (and the public Gradio chat)."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict, deque

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RateLimiter:
    """A sliding window per client, bounded: clients idle for a whole window are forgotten, and at most
    `max_clients` are remembered (least recently seen dropped first).

    The `limits` library was measured first (bench/rate_limiter.py): its in-memory storage keeps an entry
    per client it ever saw (moving window) and its expiry timer rescans every key each 10 ms, so a flood
    of 100,000 distinct clients made each check ~100x slower. This one stays O(1) per check.
    Thread-safe (the screens call it from worker threads). The id must come from the server side (the
    socket peer, a key id), never from anything the client writes.
    """

    def __init__(self, per_minute: int, window_s: float = 60.0, max_clients: int = 100_000) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self.max_clients = max_clients
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many clients are remembered now."""
        return len(self._hits)

    def check(self, client: str) -> float | None:
        """Record a hit for `client`; None when allowed, else seconds until a slot frees (→ Retry-After)."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            hits = self._hits.pop(client, None) or deque()
            self._forget_idle(now)
            self._hits[client] = hits  # most recently seen last
            while hits and now - hits[0] >= self.window_s:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(0.0, self.window_s - (now - hits[0]))
            hits.append(now)
            return None

    def _forget_idle(self, now: float) -> None:
        """Drop the least recently seen clients while idle for a window or over the cap (amortised O(1))."""
        while self._hits:
            client, hits = next(iter(self._hits.items()))
            if len(self._hits) < self.max_clients and hits and now - hits[-1] < self.window_s:
                return
            del self._hits[client]


def _error_body(status: int, kind: str, message: str) -> bytes:
    return json.dumps(
        {"error": {"type": kind, "code": status, "message": message}}, ensure_ascii=False
    ).encode()


class BodySizeLimit:
    """ASGI middleware: refuse bodies over a limit with 413, by Content-Length or while streaming.

    Every route is covered — the API and Gradio's own routes alike. Uploads (paths starting with one of
    `upload_prefixes`: the API's import and Gradio's upload route) get `upload_bytes`; everything else
    gets `json_bytes`.
    """

    def __init__(
        self,
        app: ASGIApp,
        json_bytes: int,
        upload_bytes: int,
        upload_prefixes: tuple[str, ...] = ("/v1/kb/import", "/gradio_api/upload"),
    ) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.upload_bytes = upload_bytes
        self.upload_prefixes = upload_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_bytes if path.startswith(self.upload_prefixes) else self.json_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await self._reply(send, 400, "bad_request", "invalid Content-Length header")
                return
            if too_big:
                await self._reply(send, 413, "request_too_large", f"request body over the {limit}-byte limit")
                return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        tracked = ResponseTracker(send)
        try:
            await self.app(scope, counting_receive, tracked)
        except _BodyTooLarge:
            if not tracked.started:
                await self._reply(send, 413, "request_too_large", f"request body over the {limit}-byte limit")

    @staticmethod
    async def _reply(send: Send, status: int, kind: str, message: str) -> None:
        body = _error_body(status, kind, message)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class ResponseTracker:
    """An ASGI `send` that remembers whether the response has started: a middleware that stops a request
    part-way (body too large, too many files) can only answer with its own error before that."""

    def __init__(self, send: Send) -> None:
        self.started = False
        self._send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


class _BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit.

    An HTTPException so FastAPI's body parsing re-raises it instead of turning it into a 400.
    """

    def __init__(self, limit: int = 0) -> None:
        super().__init__(status_code=413, detail=f"request body over the {limit}-byte limit")
