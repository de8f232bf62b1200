"""``/users``: admins create logins, make users admins or region-scoped managers, reset
passwords, disable users and issue API tokens.

The same use cases (:mod:`routeplanner.services.users`) as ``routeplanner user ...``. A new API
token is shown once, in the response to the POST that made it (never stored in the session
cookie, which is signed but readable); only its hash is kept. Disabling a user ends their
sessions and stops their tokens at the next request; resetting a password ends their sessions
(both delete the user's stored sessions, see :mod:`routeplanner.web.auth`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.auth import MIN_PASSWORD, PasswordCost
from routeplanner.errors import InputError, Problem
from routeplanner.services import regions as region_service
from routeplanner.services import users as user_service
from routeplanner.web.auth import AdminDep, CsrfDep, ScopeDep
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.schemas import DbIdPath
from routeplanner.web.services import Services

router = APIRouter(include_in_schema=False)
ServicesDep = Annotated[Services, Depends(get_services)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
SOURCE = "user form"


def _render(
    request: Request,
    services: Services,
    templates: Jinja2Templates,
    *,
    status: int = 200,
    problems: list[Problem] | None = None,
    form: dict[str, str] | None = None,
    message: str = "",
    new_token: tuple[str, str] | None = None,
    problem_user: int | None = None,
) -> Response:
    context = {
        "rows": user_service.users(services.store),
        "reps": services.store.reps.all(),
        "problems": problems or [],
        "problem_user": problem_user,
        "form": form or {"username": "", "role": "rep", "rep": ""},
        "message": message,
        "new_token": new_token,
        "min_password": MIN_PASSWORD,
        "now": services.store.clock(),
    }
    return templates.TemplateResponse(request, "users.html", context, status_code=status)


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request, _user: AdminDep, services: ServicesDep, templates: TemplatesDep
) -> Response:
    """Every user with role, rep, state and API tokens; forms to create and change them."""
    return _render(request, services, templates)


@router.post("/users/{user_id}/scope", response_class=HTMLResponse, dependencies=[CsrfDep])
def set_scope(
    request: Request,
    user_id: DbIdPath,
    _user: AdminDep,
    scope: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
    role: Annotated[str, Form(max_length=16)] = "",
    regions: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Make the user an admin, or a manager of the comma-separated ``regions``, as
    ``routeplanner user role``/``user regions`` do; every problem is listed (422)."""
    target = user_service.get_user(services.store, user_id)
    try:
        region_service.set_scope(
            services.store,
            target.username,
            scope,
            role=role,
            regions=regions.replace(";", ",").split(","),
            source=SOURCE,
        )
    except InputError as exc:
        return _render(
            request, services, templates, status=422, problems=exc.problems, problem_user=user_id
        )
    return RedirectResponse("/users", status_code=303)


@router.post("/users", response_class=HTMLResponse, dependencies=[CsrfDep])
def create_user(
    request: Request,
    _user: AdminDep,
    services: ServicesDep,
    templates: TemplatesDep,
    username: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    rep: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Create a login, checked like ``routeplanner user create``; every problem is listed."""
    username, rep = username.strip(), rep.strip()
    fields = {
        "username": username,
        "role": role,
        "rep": rep,
        "password": password,
        "confirm": confirm,
    }
    try:
        cost = PasswordCost.from_settings(services.settings)
        user_service.create_user(services.store, fields, source=SOURCE, cost=cost)
    except InputError as exc:
        form = {"username": username, "role": role, "rep": rep}
        return _render(request, services, templates, status=422, problems=exc.problems, form=form)
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{user_id}/password", response_class=HTMLResponse, dependencies=[CsrfDep])
def reset_password(
    request: Request,
    user_id: DbIdPath,
    _user: AdminDep,
    services: ServicesDep,
    templates: TemplatesDep,
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
    revoke_tokens: Annotated[bool, Form()] = False,
) -> Response:
    """Set a new password; the user's open sessions end, and with ``revoke_tokens`` their API
    tokens are revoked in the same transaction (a reset after a leak)."""
    try:
        cost = PasswordCost.from_settings(services.settings)
        target, revoked = user_service.reset_password(
            services.store, user_id, password, confirm, cost, revoke_tokens=revoke_tokens
        )
    except InputError as exc:
        return _render(
            request, services, templates, status=422, problems=exc.problems, problem_user=user_id
        )
    message = f"New password set for {target.username}."
    if revoke_tokens:
        message += f" {revoked} API token{'s' * (revoked != 1)} revoked."
    return _render(request, services, templates, message=message)


@router.post("/users/{user_id}/active", response_class=HTMLResponse, dependencies=[CsrfDep])
def set_active(
    request: Request,
    user_id: DbIdPath,
    user: AdminDep,
    services: ServicesDep,
    templates: TemplatesDep,
    active: Annotated[bool, Form()],
) -> Response:
    """Disable (sessions and tokens stop working at once) or enable a user again."""
    try:
        user_service.set_active(services.store, user_id, active, by=user)
    except InputError as exc:
        return _render(
            request, services, templates, status=422, problems=exc.problems, problem_user=user_id
        )
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{user_id}/tokens", response_class=HTMLResponse, dependencies=[CsrfDep])
def create_token(
    request: Request,
    user_id: DbIdPath,
    _user: AdminDep,
    services: ServicesDep,
    templates: TemplatesDep,
    label: Annotated[str, Form()] = "",
    expires_days: Annotated[str, Form()] = "",
) -> Response:
    """A new API token for the user, shown once in this response."""
    try:
        target, token = user_service.issue_api_token(services.store, user_id, label, expires_days)
    except InputError as exc:
        return _render(
            request, services, templates, status=422, problems=exc.problems, problem_user=user_id
        )
    response = _render(request, services, templates, new_token=(target.username, token))
    response.headers["Cache-Control"] = "no-store"  # the only copy of the token
    return response


@router.post(
    "/users/{user_id}/tokens/{token_id}/revoke",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def revoke_token(
    user_id: DbIdPath, token_id: DbIdPath, _user: AdminDep, services: ServicesDep
) -> Response:
    """Revoke one of the user's API tokens (calendar feed URLs are revoked on /calendar)."""
    user_service.revoke_api_token(services.store, user_id, token_id)
    return RedirectResponse("/users", status_code=303)
