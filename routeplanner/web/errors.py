"""One error format for the API and one error page for humans, mapped from our exception tree.

Nothing below the web raises HTTP exceptions, and no route does: this module is the only place
that decides status codes, by the type of the error (:data:`STATUS`), never by its message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles

from routeplanner.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    QueueFullError,
    RateLimitedError,
    RoadNetworkError,
    RoutePlannerError,
    StorageError,
)
from routeplanner.web.auth import LoginRequiredError
from routeplanner.web.state import app_state

STATUS: tuple[tuple[type[RoutePlannerError], int, str], ...] = (
    (NotFoundError, 404, "{}"),
    (PermissionDeniedError, 403, "{}"),
    (ConflictError, 409, "{}"),
    (RateLimitedError, 429, "{}"),
    (QueueFullError, 503, "{}"),
    (RoadNetworkError, 503, "road network unavailable: {}"),
    (StorageError, 503, "storage unavailable: {}"),
)
"""Status code and message of each error type; the first matching entry wins, so a missing
stored record (a NotFoundError and a StorageError) is a 404 and a stale write a 409."""


def too_large_message(limit: int) -> str:
    return f"request body larger than {limit:,} bytes"


class BodyTooLargeError(StarletteHTTPException):
    """A request body grew past ``limit`` bytes while it was read: 413. An HTTP exception
    because FastAPI re-raises those from body parsing (any other error becomes a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large_message(limit))


def error_body(message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": message, "errors": errors or []}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def respond_error(
    request: Request,
    status: int,
    message: str,
    errors: list[dict[str, Any]],
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The one error format: JSON ``{"error", "errors"}`` for the API, else the error page."""
    if _wants_json(request):
        return JSONResponse(error_body(message, errors), status_code=status, headers=headers)
    templates: Jinja2Templates = app_state(request.app).templates
    page: Response = templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "errors": errors},
        status_code=status,
        headers=headers,
    )
    return page


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers so every failure leaves the app in the documented shape."""

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        errors = [
            {"field": p.field, "message": p.message, "source": p.source, "row": p.row}
            for p in exc.problems
        ]
        return respond_error(request, 422, "invalid input", errors)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(x) for x in e["loc"] if x != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        return respond_error(request, 422, "invalid request", errors)

    @app.exception_handler(LoginRequiredError)
    async def _login(request: Request, _exc: LoginRequiredError) -> Response:
        if _wants_json(request):
            response = JSONResponse(error_body("authentication required"), status_code=401)
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)

    @app.exception_handler(RoutePlannerError)
    async def _ours(request: Request, exc: RoutePlannerError) -> Response:
        status, message = status_of(exc)
        headers = None
        if isinstance(exc, OverloadedError):
            headers = {"Retry-After": str(math.ceil(exc.retry_after_s))}
        return respond_error(request, status, message, [], headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        # keep the exception's headers: Allow on 405, WWW-Authenticate on 401, ...
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return respond_error(request, exc.status_code, message, [], headers)


def status_of(exc: RoutePlannerError) -> tuple[int, str]:
    """HTTP status and message of one of our errors; any other (a bug) is raised again."""
    for kind, status, message in STATUS:
        if isinstance(exc, kind):
            return status, message.format(exc)
    raise exc  # a bug of ours: a 500 with its traceback in the log


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route answers at this path. Included routers are asked as a whole
    (``matches`` walks their routes, however nested), one method at a time; static files
    answer GET and HEAD."""
    # a mount has moved the path into root_path: match from the app's own root again
    root = request.scope.get("app_root_path", request.scope.get("root_path", ""))
    scope = {**request.scope, "type": "http", "root_path": root}
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Mount) and isinstance(route.app, StaticFiles):
            if route.matches(scope)[0] is not Match.NONE:
                methods |= {"GET", "HEAD"}
            continue
        for method in _METHODS:
            match, _ = route.matches({**scope, "method": method})
            if match is Match.FULL:
                methods.add(method)
    return ", ".join(sorted(methods))
