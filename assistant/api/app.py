"""The `yiju serve` application: FastAPI (API under /v1, docs at /docs) with the Gradio screens at `/`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import assistant
from assistant.api.docs_policy import DocsContentPolicy
from assistant.api.errors import classify_exception, error_body, expected_exceptions
from assistant.api.limits import BodySizeLimit
from assistant.api.schemas import HealthResponse
from assistant.api.services import Services
from assistant.api.ui_guard import GradioGuard
from assistant.config import YijuConfig, load_config

log = logging.getLogger("yiju.serve")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors()[:20]:
            where = ".".join(str(p) for p in err.get("loc", ()))
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        return _error(422, "invalid request: " + "; ".join(problems))

    async def expected_error(request: Request, exc: Exception) -> JSONResponse:
        # Answered inside the app (Starlette's ExceptionMiddleware): no traceback in the log, the status
        # counted as what it is, the connection kept alive. Only unknown exceptions reach `any_error`.
        status, _kind, message = classify_exception(exc)
        headers = None
        if status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        elif status == 503:
            headers = {"Retry-After": "5"}
        log.log(
            logging.WARNING if status >= 500 else logging.INFO,
            "%s %s -> %s: %s",
            request.method,
            request.url.path,
            status,
            exc,
        )
        return _error(status, message, headers)

    for kind in expected_exceptions():
        app.add_exception_handler(kind, expected_error)

    @app.exception_handler(Exception)
    async def any_error(request: Request, exc: Exception) -> JSONResponse:
        # The server-error handler: Starlette re-raises after this answer, so the server logs it and
        # closes the connection. Reserved for the unexpected.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, classify_exception(exc)[2])


class MetricsMiddleware:
    """Counts requests and latency by route template (Gradio's own routes are grouped as 'ui')."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        metrics = self.services.metrics

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.in_flight += 1
        try:
            await self.app(scope, receive, tracking_send)
        finally:
            metrics.in_flight -= 1
            path = scope.get("path", "")
            route = scope.get("route")
            if (
                route is not None
                and bool(getattr(route, "path", ""))
                and path.startswith(("/v1", "/healthz", "/metrics"))
            ):
                label = route.path
            elif path.startswith(("/v1", "/healthz", "/metrics", "/docs", "/openapi", "/redoc")):
                label = path if path in ("/docs", "/openapi.json", "/redoc") else "unmatched"
            else:
                label = "ui"
            metrics.observe_request(scope.get("method", ""), label, status, time.perf_counter() - start)


class GenericErrorShape:
    """Rewrites the framework's bare `{"detail": "Not Found"}` / `{"detail": "Method Not Allowed"}` answers
    (unknown paths and methods answered by the router or the Gradio mount) into the documented error shape.

    Only those exact generic bodies are touched, and never under Gradio's own API prefix, whose client
    reads `detail`; every other response passes through unbuffered.
    """

    _GENERIC = {
        b'{"detail":"Not Found"}': "no such endpoint",
        b'{"detail":"Method Not Allowed"}': "method not allowed",
    }

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/gradio_api"):
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        parts: list[bytes] = []

        async def rewriting_send(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] in (404, 405):
                held = message  # decide once the (small) body is known
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            parts.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(parts)
            headers = list(held.get("headers", []))
            what = self._GENERIC.get(body.strip())
            if what is not None:
                status = held["status"]
                text = f"{what}: {scope.get('method', '')} {scope.get('path', '')}"
                body = json.dumps(
                    error_body(status, text),
                    ensure_ascii=False,
                    separators=(",", ":"),
                ).encode()
                headers = [
                    (k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")
                ]
                headers += [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
            await send({**held, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewriting_send)


def create_app(home: Path, config: YijuConfig | None = None, *, with_ui: bool = True) -> FastAPI:
    """Build the service for the data directory `home` (config: `home/yiju.yaml` or defaults when None)."""
    home = Path(home)
    config = config or load_config(None, home)
    services = Services(home, config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Build the pipeline before serving so the first request is not slow; if the store is down,
        # keep serving (requests answer 503) and retry on the next request.
        try:
            await run_in_threadpool(services.pipeline)
            # Warm the retrieval indexes (tokeniser dictionary, sparse/dense snapshots) so the first real
            # question does not pay for them; a plain retrieve is not a turn, so nothing is audited.
            await run_in_threadpool(lambda: services.kb().retrieve("劳动合同 解除 经济补偿", k=1))
        except Exception as exc:  # noqa: BLE001 - logged, retried lazily
            log.warning("pipeline not ready at start (%s); will retry on demand", exc)
        yield

    # FastAPIOffline: a FastAPI whose /docs (Swagger UI 5) and /redoc (ReDoc 2) are served from files in the
    # fastapi-offline package — clinics' intranets often have no CDN, and both read OpenAPI 3.1 as emitted.
    app = FastAPIOffline(
        title="yiju 依据",
        version=assistant.__version__,
        description=(
            "Grounded answers to Chinese legal and medical questions with verified citations. "
            "Send `Authorization: Bearer <key>` (keys from `yiju keys create --role …`). "
            'Errors are `{"error": {"type", "code", "message"}}`.'
        ),
        lifespan=lifespan,
        static_url="/docs-static",
    )
    app.state.services = services
    _install_error_handlers(app)

    from assistant.api import routes_ask, routes_audit, routes_kb, ui_guard

    app.include_router(routes_ask.router)
    app.include_router(routes_kb.router)
    app.include_router(routes_audit.router)
    app.include_router(ui_guard.router)

    @app.get("/healthz", response_model=HealthResponse, tags=["ops"], summary="Liveness and readiness")
    def healthz() -> HealthResponse:
        try:
            services.pipeline()
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return HealthResponse(
                status="degraded",
                version=assistant.__version__,
                pipeline="unavailable",
                detail=type(exc).__name__,
            )
        return HealthResponse(status="ok", version=assistant.__version__, pipeline="ready")

    @app.get("/metrics", response_class=PlainTextResponse, tags=["ops"], summary="Prometheus metrics")
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            services.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    @app.get("/v1/adapters", tags=["ops"], summary="Registered LoRA adapters (manifests)")
    def adapters() -> list[dict[str, Any]]:
        return [
            m.model_dump(mode="json") if hasattr(m, "model_dump") else dict(m) for m in services.adapters()
        ]

    @app.get("/v1/domains", tags=["ops"], summary="Domains served (pass as `domain` or `model`)")
    def domains() -> list[str]:
        return ["auto", *services.domains()]

    @app.api_route(
        "/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def not_found(rest: str, request: Request) -> None:
        # Without this, unknown /v1 paths would fall through to the Gradio mount at "/". A known path
        # asked with the wrong method is a 405 naming the allowed ones, not a 404.
        # Probe each method against the other routes (works whatever wrappers include_router adds).
        allowed = [
            method
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
            if any(
                not isinstance(route, Mount)  # the Gradio mount at "/" matches every path
                and getattr(route, "path", None) != "/v1/{rest:path}"
                and route.matches({**request.scope, "method": method})[0] == Match.FULL
                for route in request.app.router.routes
            )
        ]
        if allowed:
            raise StarletteHTTPException(
                405,
                f"method {request.method} not allowed on /v1/{rest}; use {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        raise StarletteHTTPException(404, f"no such endpoint: /v1/{rest}")

    if with_ui:
        from ui.app import mount_ui

        app = mount_ui(app, services)
        # Gradio's upload and file routes need the knowledge screen's key (innermost: after the size limit).
        app.add_middleware(GradioGuard, services=services)

    app.add_middleware(
        BodySizeLimit, json_bytes=config.server.max_request_bytes, upload_bytes=config.server.max_upload_bytes
    )
    app.add_middleware(GenericErrorShape)
    app.add_middleware(DocsContentPolicy)
    app.add_middleware(MetricsMiddleware, services=services)
    return app
