"""``/login`` and ``/logout``: a plain form, usable without JavaScript on a phone."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.auth import PasswordCost, authenticate
from routeplanner.storage.records import UserRecord, UserRole
from routeplanner.web.auth import CsrfDep, log_in, log_out, session_user
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.ratelimit import LoginLimiter
from routeplanner.web.services import Services
from routeplanner.web.state import app_state

router = APIRouter(include_in_schema=False)
FAILED = "Wrong username or password."


def _safe_next(target: str) -> str:
    """Only paths on this site: ``//host`` or ``https://host`` would make an open redirect."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


def _how_long(seconds: int) -> str:
    count, unit = (seconds, "second") if seconds < 120 else (math.ceil(seconds / 60), "minute")
    return f"{count} {unit}{'s' * (count > 1)}"


def _home(user: UserRecord) -> str:
    return "/route" if user.role is UserRole.REP else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
    next: str = "",
) -> Response:
    user = session_user(request)
    if user is not None:
        return RedirectResponse(_safe_next(next) or _home(user), status_code=303)
    context = {"next": _safe_next(next), "message": "", "username": ""}
    return templates.TemplateResponse(request, "login.html", context)


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfDep])
def login(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    limiter: LoginLimiter = app_state(request.app).login_limiter
    address = request.client.host if request.client is not None else "unknown"
    wait = limiter.retry_after(username, address)
    if wait > 0:  # refused unchecked: no password is tried, nothing is counted
        message = f"Too many failed logins. Try again in {_how_long(wait)}."
        context = {"next": _safe_next(next), "message": message, "username": username}
        response = templates.TemplateResponse(request, "login.html", context, status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    cost = PasswordCost.from_settings(services.settings)
    user = authenticate(services.store, username.strip(), password, cost)
    if user is None:
        limiter.failed(username, address)
        context = {"next": _safe_next(next), "message": FAILED, "username": username}
        return templates.TemplateResponse(request, "login.html", context, status_code=401)
    limiter.succeeded(username, address)
    log_in(request, user)
    return RedirectResponse(_safe_next(next) or _home(user), status_code=303)


@router.post("/logout", dependencies=[CsrfDep])
def logout(request: Request) -> Response:
    log_out(request)
    return RedirectResponse("/login", status_code=303)
