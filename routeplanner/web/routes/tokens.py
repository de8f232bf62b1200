"""``/tokens``: every user lists, makes and revokes their own API tokens in the browser.

Managers see and revoke everyone's on ``/users``. A new token is shown once, in the answer to
the POST that made it (``Cache-Control: no-store``); only its hash is stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.errors import InputError, Problem
from routeplanner.services import users as user_service
from routeplanner.storage.records import UserRecord
from routeplanner.web.auth import CsrfDep, UserDep
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.schemas import DbIdPath
from routeplanner.web.services import Services

router = APIRouter(include_in_schema=False)
ServicesDep = Annotated[Services, Depends(get_services)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]


def _render(
    request: Request,
    services: Services,
    templates: Jinja2Templates,
    user: UserRecord,
    *,
    new_token: str = "",
    problems: list[Problem] | None = None,
    status: int = 200,
) -> HTMLResponse:
    store = services.store
    context = {
        "tokens": user_service.api_tokens_of(store, user),
        "now": store.clock(),
        "new_token": new_token,
        "problems": problems or [],
    }
    return templates.TemplateResponse(request, "tokens.html", context, status_code=status)


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(
    request: Request, user: UserDep, services: ServicesDep, templates: TemplatesDep
) -> Response:
    """The user's API tokens: made, expiry, last use; revoke buttons and a form for a new one."""
    return _render(request, services, templates, user)


@router.post("/tokens", response_class=HTMLResponse, dependencies=[CsrfDep])
def create_own_token(
    request: Request,
    user: UserDep,
    services: ServicesDep,
    templates: TemplatesDep,
    label: Annotated[str, Form()] = "",
    expires_days: Annotated[str, Form()] = "",
) -> Response:
    try:
        token = user_service.issue_own_api_token(services.store, user, label, expires_days)
    except InputError as exc:
        return _render(request, services, templates, user, problems=exc.problems, status=422)
    response = _render(request, services, templates, user, new_token=token)
    response.headers["Cache-Control"] = "no-store"  # the only copy of the token
    return response


@router.post("/tokens/{token_id}/revoke", dependencies=[CsrfDep])
def revoke_own_token(token_id: DbIdPath, user: UserDep, services: ServicesDep) -> Response:
    """Revoke one of the user's own API tokens; anyone else's is "not found"."""
    user_service.revoke_api_token(services.store, user.user_id, token_id)
    return RedirectResponse("/tokens", status_code=303)
