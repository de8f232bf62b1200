"""``/users``: managers create logins, reset passwords, disable users and issue API tokens.

The same store and hashing functions as ``routeplanner user create|list|token``. A new API
token is shown once, in the response to the POST that made it (never stored in the session
cookie, which is signed but readable); only its hash is kept. Disabling a user ends their
sessions and stops their tokens at the next request; resetting a password ends their sessions
(the session remembers a fingerprint of the password hash, see :mod:`routeplanner.web.auth`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.auth import MIN_PASSWORD, hash_password, new_api_token
from routeplanner.errors import Problem
from routeplanner.feeds import NO_LOGIN
from routeplanner.storage.records import TokenKind, TokenRecord, UserRecord, UserRole
from routeplanner.web.auth import CsrfDep, ManagerDep
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.schemas import DbIdPath
from routeplanner.web.services import Services

router = APIRouter(include_in_schema=False)
ServicesDep = Annotated[Services, Depends(get_services)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
SOURCE = "user form"
MAX_USERNAME = 64
MAX_LABEL = 100


@dataclass(frozen=True, slots=True)
class UserRow:
    user: UserRecord
    calendar_only: bool
    tokens: list[TokenRecord]


def _problem(field: str, message: str) -> Problem:
    return Problem(SOURCE, None, field, message)


def _password_problems(password: str, confirm: str) -> list[Problem]:
    if len(password) < MIN_PASSWORD:
        return [_problem("password", f"must have at least {MIN_PASSWORD} characters")]
    if password != confirm:
        return [_problem("confirm", "does not match the password")]
    return []


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
    store = services.store
    rows = [
        UserRow(
            user=u,
            calendar_only=u.password_hash == NO_LOGIN,
            tokens=[t for t in store.tokens.of_user(u.user_id) if t.kind is TokenKind.API],
        )
        for u in store.users.all()
    ]
    context = {
        "rows": rows,
        "reps": store.reps.all(),
        "problems": problems or [],
        "problem_user": problem_user,
        "form": form or {"username": "", "role": "rep", "rep": ""},
        "message": message,
        "new_token": new_token,
        "min_password": MIN_PASSWORD,
    }
    return templates.TemplateResponse(request, "users.html", context, status_code=status)


def _find_user(services: Services, user_id: int) -> UserRecord:
    found = services.store.users.get(user_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"user {user_id} not found")
    return found


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request, _user: ManagerDep, services: ServicesDep, templates: TemplatesDep
) -> Response:
    """Every user with role, rep, state and API tokens; forms to create and change them."""
    return _render(request, services, templates)


@router.post("/users", response_class=HTMLResponse, dependencies=[CsrfDep])
def create_user(
    request: Request,
    _user: ManagerDep,
    services: ServicesDep,
    templates: TemplatesDep,
    username: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    rep: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Create a login, checked like ``routeplanner user create``; every problem is listed."""
    store = services.store
    username, rep = username.strip(), rep.strip()
    problems: list[Problem] = []
    if not username:
        problems.append(_problem("username", "must not be empty"))
    elif len(username) > MAX_USERNAME or any(c.isspace() for c in username):
        problems.append(_problem("username", f"at most {MAX_USERNAME} characters, no spaces"))
    elif store.users.find(username) is not None:
        problems.append(_problem("username", f"user {username!r} already exists"))
    if role not in {r.value for r in UserRole}:
        problems.append(_problem("role", f"{role!r} is not one of manager, rep"))
    elif role == UserRole.REP and not rep:
        problems.append(_problem("rep", "a rep user needs a rep"))
    if rep and store.reps.get(rep) is None:
        problems.append(_problem("rep", f"no rep {rep!r}"))
    problems += _password_problems(password, confirm)
    if problems:
        form = {"username": username, "role": role, "rep": rep}
        return _render(request, services, templates, status=422, problems=problems, form=form)
    store.users.create(
        username,
        hash_password(password),
        role=role,
        rep_id=(rep or None) if role == UserRole.REP else None,
    )
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{user_id}/password", response_class=HTMLResponse, dependencies=[CsrfDep])
def reset_password(
    request: Request,
    user_id: DbIdPath,
    _user: ManagerDep,
    services: ServicesDep,
    templates: TemplatesDep,
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Set a new password; the user's open sessions end (their tokens stay valid)."""
    target = _find_user(services, user_id)
    problems = _password_problems(password, confirm)
    if problems:
        return _render(
            request, services, templates, status=422, problems=problems, problem_user=user_id
        )
    services.store.users.update(target.user_id, password_hash=hash_password(password))
    message = f"New password set for {target.username}."
    return _render(request, services, templates, message=message)


@router.post("/users/{user_id}/active", response_class=HTMLResponse, dependencies=[CsrfDep])
def set_active(
    request: Request,
    user_id: DbIdPath,
    user: ManagerDep,
    services: ServicesDep,
    templates: TemplatesDep,
    active: Annotated[bool, Form()],
) -> Response:
    """Disable (sessions and tokens stop working at once) or enable a user again."""
    target = _find_user(services, user_id)
    if target.user_id == user.user_id and not active:
        problems = [_problem("active", "you cannot disable yourself")]
        return _render(
            request, services, templates, status=422, problems=problems, problem_user=user_id
        )
    services.store.users.update(target.user_id, active=active)
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{user_id}/tokens", response_class=HTMLResponse, dependencies=[CsrfDep])
def create_token(
    request: Request,
    user_id: DbIdPath,
    _user: ManagerDep,
    services: ServicesDep,
    templates: TemplatesDep,
    label: Annotated[str, Form()] = "",
) -> Response:
    """A new API token for the user, shown once in this response."""
    target = _find_user(services, user_id)
    label = label.strip()
    if len(label) > MAX_LABEL:
        problems = [_problem("label", f"at most {MAX_LABEL} characters")]
        return _render(
            request, services, templates, status=422, problems=problems, problem_user=user_id
        )
    token = new_api_token(services.store, target, label=label)
    response = _render(request, services, templates, new_token=(target.username, token))
    response.headers["Cache-Control"] = "no-store"  # the only copy of the token
    return response


@router.post(
    "/users/{user_id}/tokens/{token_id}/revoke",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def revoke_token(
    user_id: DbIdPath, token_id: DbIdPath, _user: ManagerDep, services: ServicesDep
) -> Response:
    """Revoke one of the user's API tokens (calendar feed URLs are revoked on /calendar)."""
    target = _find_user(services, user_id)
    tokens = services.store.tokens.of_user(target.user_id)
    if not any(t.token_id == token_id and t.kind is TokenKind.API for t in tokens):
        raise HTTPException(status_code=404, detail=f"token {token_id} not found")
    services.store.tokens.revoke(token_id)
    return RedirectResponse("/users", status_code=303)
