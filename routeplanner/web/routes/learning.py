"""Planned against actual times per rep and account, and the learned values planning applies.

Managers only. The page shows the last weeks' recorded drives and visits against the plan,
each estimate with its evidence, and lets a manager confirm or withdraw it; the JSON API
does the same. The use cases are in :mod:`routeplanner.services.learning`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.errors import InputError, Problem
from routeplanner.services import learning as svc
from routeplanner.services.learning import LearningParams
from routeplanner.storage import LearnedKind
from routeplanner.web.auth import MANAGER_THEN_CSRF, CsrfDep, ManagerApiDep, ManagerDep
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.learning_schemas import ConfirmBody, FieldTimesPublic, Kind, LearnedPublic
from routeplanner.web.schemas import API_ERRORS
from routeplanner.web.services import Services

router = APIRouter()
api_router = APIRouter(prefix="/api/v1", tags=["learning"], responses=API_ERRORS)

ServicesDep = Annotated[Services, Depends(get_services)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
FORM_SOURCE = "learning form"
SHOWN_ACCOUNTS = 200
"""Accounts listed on the page (those furthest from their plan first); the API lists all."""


def _params(source: str, weeks: str, min_drives: str, min_visits: str) -> LearningParams:
    texts = {"weeks": weeks, "min_drives": min_drives, "min_visits": min_visits}
    return LearningParams.from_text(texts, source=source)


def _kind(text: str, source: str) -> LearnedKind:
    try:
        return LearnedKind(text)
    except ValueError:
        kinds = ", ".join(k.value for k in LearnedKind)
        raise InputError(Problem(source, None, "kind", f"{text!r}: use one of {kinds}")) from None


@router.get("/learning", response_class=HTMLResponse, include_in_schema=False)
def learning_page(
    request: Request,
    user: ManagerDep,
    services: ServicesDep,
    templates: TemplatesDep,
    weeks: str = "",
    min_drives: str = "",
    min_visits: str = "",
    saved: str = "",
) -> Response:
    """Planned against actual per rep and account, with confirm and withdraw buttons."""
    params = _params("query", weeks, min_drives, min_visits)
    times = svc.field_times(services.store, params, user=user)
    accounts = sorted(times.accounts, key=lambda a: -abs(a.actual_s - a.planned_s))
    context = {
        "times": times,
        "accounts": accounts[:SHOWN_ACCOUNTS],
        "hidden_accounts": max(0, len(accounts) - SHOWN_ACCOUNTS),
        "message": saved,
        "query": urlencode(
            {
                "weeks": params.weeks,
                "min_drives": params.min_drives,
                "min_visits": params.min_visits,
            }
        ),
    }
    return templates.TemplateResponse(request, "learning.html", context)


@dataclass(frozen=True, slots=True)
class _Decision:
    """What a Confirm or Withdraw button posts: which value, and the page's view to return to."""

    kind: LearnedKind
    key: str
    params: LearningParams


def _decision(
    kind: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
    weeks: Annotated[str, Form()] = "",
    min_drives: Annotated[str, Form()] = "",
    min_visits: Annotated[str, Form()] = "",
) -> _Decision:
    params = _params(FORM_SOURCE, weeks, min_drives, min_visits)
    return _Decision(_kind(kind, FORM_SOURCE), key, params)


DecisionDep = Annotated[_Decision, Depends(_decision)]


@router.post("/learning/confirm", include_in_schema=False, dependencies=[CsrfDep])
def confirm_from_page(user: ManagerDep, services: ServicesDep, form: DecisionDep) -> Response:
    value = svc.confirm_learned(services.store, form.kind, form.key, form.params, user=user)
    return _back(form.params, f"{value.key}: {value.kind.value} {value.value:.2f} confirmed")


@router.post("/learning/withdraw", include_in_schema=False, dependencies=[CsrfDep])
def withdraw_from_page(user: ManagerDep, services: ServicesDep, form: DecisionDep) -> Response:
    svc.withdraw_learned(services.store, form.kind, form.key, user=user)
    return _back(form.params, f"{form.key}: {form.kind.value} withdrawn")


def _back(params: LearningParams, message: str) -> RedirectResponse:
    query = urlencode({**_query(params), "saved": message})
    return RedirectResponse("/learning?" + query, status_code=303)


def _query(params: LearningParams) -> dict[str, int]:
    return {"weeks": params.weeks, "min_drives": params.min_drives, "min_visits": params.min_visits}


@api_router.get("/learning", response_model=FieldTimesPublic)
def api_learning(
    services: ServicesDep,
    user: ManagerApiDep,
    weeks: Annotated[int, Query(ge=1, le=52)] = 8,
    min_drives: Annotated[int, Query(ge=1, le=10_000)] = 15,
    min_visits: Annotated[int, Query(ge=1, le=10_000)] = 5,
) -> FieldTimesPublic:
    """Planned against actual per rep and account over the last ``weeks`` weeks, each
    estimate with its evidence and the value in force."""
    params = LearningParams(weeks=weeks, min_drives=min_drives, min_visits=min_visits)
    return FieldTimesPublic.of(svc.field_times(services.store, params, user=user))


@api_router.post("/learning/confirm", response_model=LearnedPublic, dependencies=MANAGER_THEN_CSRF)
def api_confirm(body: ConfirmBody, services: ServicesDep, user: ManagerApiDep) -> LearnedPublic:
    """Put the current estimate in force for the next plan (422: too few observations)."""
    params = LearningParams(
        weeks=body.weeks, min_drives=body.min_drives, min_visits=body.min_visits
    )
    value = svc.confirm_learned(services.store, LearnedKind(body.kind), body.key, params, user=user)
    return LearnedPublic.of(value)


@api_router.delete("/learning/{kind}/{key}", status_code=204, dependencies=MANAGER_THEN_CSRF)
def api_withdraw(kind: Kind, key: str, services: ServicesDep, user: ManagerApiDep) -> Response:
    """Stop applying a learned value (404 when none is in force)."""
    svc.withdraw_learned(services.store, LearnedKind(kind), key, user=user)
    return Response(status_code=204)
