"""The assignment rules page and API: ordered rules (edit, reorder, upload), dry run, apply,
and each account's ownership history with reasons.

Managers only, except ``GET /api/v1/accounts/{id}/ownership``, which a rep may read for the
accounts their territory owns now. Forms work without JavaScript; every POST carries the CSRF
token. The use cases are in :mod:`routeplanner.services.assignment`; a dry run is kept in
memory (:class:`~routeplanner.web.jobs.DryRuns`) until it is applied.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from routeplanner import jsontext
from routeplanner.errors import InputError, Problem
from routeplanner.services import assignment as svc
from routeplanner.services.assignment import CRITERION_FIELDS, AssignParams
from routeplanner.storage import Store
from routeplanner.storage.records import UserRecord
from routeplanner.web.assignment_schemas import (
    ApplyBody,
    DryRunBody,
    DryRunPublic,
    OwnershipPeriodPublic,
    OwnershipPublic,
    ReorderBody,
    RulesBody,
    RulesPublic,
)
from routeplanner.web.auth import (
    ADMIN_THEN_CSRF,
    AdminApiDep,
    AdminDep,
    ApiScopeDep,
    ApiUserDep,
    CsrfDep,
)
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.jobs import DryRuns
from routeplanner.web.rule_form import RuleForm, rule_data
from routeplanner.web.schemas import API_ERRORS
from routeplanner.web.services import Services
from routeplanner.web.state import AppState, get_state

router = APIRouter()
api_router = APIRouter(prefix="/api/v1", tags=["assignment"], responses=API_ERRORS)

FORM_SOURCE = "rules form"
API_SOURCE = "api"


async def get_dry_runs(request: Request) -> DryRuns:
    return (await get_state(request)).dry_runs


ServicesDep = Annotated[Services, Depends(get_services)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
RunsDep = Annotated[DryRuns, Depends(get_dry_runs)]
StateDep = Annotated[AppState, Depends(get_state)]


# -- page ------------------------------------------------------------------------------------


def _render(
    request: Request,
    services: Services,
    templates: Jinja2Templates,
    runs: DryRuns,
    *,
    form: RuleForm | None = None,
    errors: list[Problem] | None = None,
    upload_errors: list[Problem] | None = None,
    dry_run: str = "",
    message: str = "",
    status_code: int = 200,
) -> Response:
    store = services.store
    rules = store.rules.all()
    territories = store.territories.all()
    reps = {r.rep_id: r.name for r in store.reps.all()}
    run = runs.get(dry_run) if dry_run else None
    context: dict[str, Any] = {
        "rules": rules,
        "stored_problems": svc.stored_problems(store),
        "territories": territories,
        "segments": sorted({t.segment for t in territories if t.segment}),
        "rep_names": reps,
        "fields": CRITERION_FIELDS,
        "form": form,
        "errors": errors or [],
        "upload_errors": upload_errors or [],
        "run": run,
        "dry_run_missing": bool(dry_run) and run is None,
        "message": message,
    }
    return templates.TemplateResponse(request, "rules.html", context, status_code=status_code)


@router.get("/rules", response_class=HTMLResponse, include_in_schema=False)
def rules_page(
    request: Request,
    _user: AdminDep,
    services: ServicesDep,
    templates: TemplatesDep,
    runs: RunsDep,
    edit: str = "",
    add: str = "",
    dry_run: str = "",
    saved: str = "",
) -> Response:
    """The ordered rules, the edit form (``?edit=ID`` or ``?add=1``), upload, dry run, apply."""
    form = None
    if edit:
        form = RuleForm.of(svc.find_rule(services.store, edit))
    elif add:
        form = RuleForm()
    return _render(request, services, templates, runs, form=form, dry_run=dry_run, message=saved)


def _saved(message: str, **extra: str) -> RedirectResponse:
    return RedirectResponse("/rules?" + urlencode({"saved": message, **extra}), status_code=303)


@router.post("/rules/save", include_in_schema=False, dependencies=[CsrfDep])
async def save_rule(
    request: Request,
    user: AdminDep,
    services: ServicesDep,
    templates: TemplatesDep,
    runs: RunsDep,
) -> Response:
    """Add (no ``original_id``) or edit one rule; on any problem nothing is stored and the form
    comes back with the values as typed and every problem, each naming the rule and field."""
    data = await request.form()
    try:
        return await _save_rule(request, user, services, templates, runs, data)
    finally:
        await data.close()  # no Form() parameters: FastAPI does not close the upload itself


async def _save_rule(
    request: Request,
    user: UserRecord,
    services: Services,
    templates: Jinja2Templates,
    runs: DryRuns,
    data: FormData,
) -> Response:
    texts = {k: v for k, v in data.items() if isinstance(v, str)}
    form = RuleForm.submitted(texts)
    upload = data.get("area_file")
    area = None
    if isinstance(upload, UploadFile) and upload.filename:
        area = (upload.filename, await upload.read())
    store = services.store
    try:
        position = _position(store, form.original_id)
        rule, problems = rule_data(form, position, source=FORM_SOURCE, area=area)
        svc.save_rule(
            store,
            rule,
            original_id=form.original_id,
            problems=problems,
            source=FORM_SOURCE,
            user=user.username,
        )
    except InputError as exc:
        return _render(
            request, services, templates, runs, form=form, errors=exc.problems, status_code=422
        )
    label = form.rule_id or "new rule"
    return _saved(f"rule {label} saved" if form.original_id else f"{label} added")


def _position(store: Store, original_id: str) -> int:
    """The 1-based place of the edited rule (a new one goes last)."""
    rules = store.rules.all()
    if not original_id:
        return len(rules) + 1
    return [r.rule_id for r in rules].index(svc.find_rule(store, original_id).rule_id) + 1


@router.post("/rules/upload", include_in_schema=False, dependencies=[CsrfDep])
async def upload_rules(
    request: Request,
    user: AdminDep,
    services: ServicesDep,
    templates: TemplatesDep,
    runs: RunsDep,
) -> Response:
    """Replace every rule by an uploaded rules file plus the GeoJSON area files it names."""
    data = await request.form()
    try:
        return await _upload_rules(request, user, services, templates, runs, data)
    finally:
        await data.close()


async def _upload_rules(
    request: Request,
    user: UserRecord,
    services: Services,
    templates: Jinja2Templates,
    runs: DryRuns,
    data: FormData,
) -> Response:
    upload = data.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        problem = Problem("upload", None, "file", "choose a rules file (JSON)")
        return _render(request, services, templates, runs, upload_errors=[problem], status_code=422)
    source = upload.filename
    areas: dict[str, Any] = {}
    problems: list[Problem] = []
    for item in data.getlist("areas"):
        if not isinstance(item, UploadFile) or not item.filename:
            continue
        try:
            areas[item.filename] = jsontext.loads((await item.read()).decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            reason = (
                f"{exc.msg} at line {exc.lineno}"
                if isinstance(exc, json.JSONDecodeError)
                else "not UTF-8 text"
            )
            message = f"area file {item.filename} is not valid JSON: {reason}"
            problems.append(Problem(item.filename, None, None, message))
    try:
        raw = (await upload.read()).decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(Problem(source, None, None, "the rules file is not UTF-8 text"))
        raw = ""
    try:
        if problems:
            raise InputError(problems)
        rules_file = svc.parse_rules_text(raw, areas, source=source)
        svc.import_rules(services.store, rules_file, source=source, user=user.username)
    except InputError as exc:
        return _render(
            request, services, templates, runs, upload_errors=exc.problems, status_code=422
        )
    return _saved(f"{len(rules_file.rules)} rules imported from {source}")


@router.post("/rules/{rule_id:path}/move", include_in_schema=False, dependencies=[CsrfDep])
def move_rule(
    request: Request,
    rule_id: str,
    user: AdminDep,
    services: ServicesDep,
    templates: TemplatesDep,
    runs: RunsDep,
    direction: Annotated[str, Form()] = "",
) -> Response:
    """Move a rule one place up or down; refused (with the reason) when that makes a rule
    unable to win."""
    if direction not in ("up", "down"):
        raise InputError(Problem("form", None, "direction", "direction must be up or down"))
    try:
        svc.move_rule(
            services.store,
            rule_id,
            -1 if direction == "up" else 1,
            source=FORM_SOURCE,
            user=user.username,
        )
    except InputError as exc:
        return _render(request, services, templates, runs, errors=exc.problems, status_code=422)
    return _saved(f"rule {rule_id} moved {direction}")


@router.post("/rules/{rule_id:path}/delete", include_in_schema=False, dependencies=[CsrfDep])
def delete_rule(
    request: Request,
    rule_id: str,
    user: AdminDep,
    services: ServicesDep,
    templates: TemplatesDep,
    runs: RunsDep,
) -> Response:
    try:
        svc.delete_rule(services.store, rule_id, source=FORM_SOURCE, user=user.username)
    except InputError as exc:
        return _render(request, services, templates, runs, errors=exc.problems, status_code=422)
    return _saved(f"rule {rule_id} deleted")


@router.get("/rules/export.json", include_in_schema=False)
def export_rules(_user: AdminDep, services: ServicesDep) -> Response:
    """The stored rules as a rules file (areas embedded), for `routeplanner rules import`."""
    return Response(
        json.dumps(svc.rules_document(services.store), ensure_ascii=False, indent=1),
        media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="assignment_rules.json"'},
    )


@router.post("/rules/dry-run", include_in_schema=False, dependencies=[CsrfDep])
def dry_run_from_page(
    user: AdminDep,
    state: StateDep,
    mode: Annotated[str, Form()] = "all",
    horizon_days: Annotated[str, Form()] = "",
    tolerance_pct: Annotated[str, Form()] = "",
) -> Response:
    """Evaluate the rules (nothing stored) and show the result below the rules."""
    fields: dict[str, str | None] = {
        "mode": mode,
        "horizon_days": horizon_days,
        "tolerance_pct": tolerance_pct,
    }
    run = _dry_run(state, AssignParams.from_text(fields, source="form"), user)
    return RedirectResponse(f"/rules?dry_run={run.token}#dry-run", status_code=303)


def _dry_run(state: AppState, params: AssignParams, user: UserRecord) -> svc.DryRun:
    services = state.services
    run = svc.dry_run(services.store, services.travel, params, user=user.username)
    return state.dry_runs.add(run)


def _apply(state: AppState, token: str, user: UserRecord) -> svc.DryRun:
    runs = state.dry_runs
    run = runs.find(token)
    with runs.apply_lock:
        return svc.apply_dry_run(state.services.store, run, user=user.username)


@router.post("/rules/apply", include_in_schema=False, dependencies=[CsrfDep])
def apply_from_page(
    user: AdminDep,
    state: StateDep,
    dry_run: Annotated[str, Form()] = "",
) -> Response:
    """Store the dry run shown (409 when anything changed since it was computed)."""
    run = _apply(state, dry_run, user)
    return _saved(f"applied: {run.moved} accounts changed owner", dry_run=run.token)


# -- API -------------------------------------------------------------------------------------

_RULE_ERRORS: dict[int | str, dict[str, str]] = {
    422: {
        "description": "invalid rules: errors[{field, message, source, row}], each naming the rule"
    },
}


def _rules_public(services: Services) -> RulesPublic:
    store = services.store
    return RulesPublic.of(
        svc.rules_to_data(store.rules.all()),
        store.territories.all(),
        [str(p) for p in svc.stored_problems(store)],
    )


@api_router.get("/rules", response_model=RulesPublic)
def api_rules(services: ServicesDep, _user: AdminApiDep) -> RulesPublic:
    """The stored rules in order (areas embedded as GeoJSON) and every territory's segment."""
    return _rules_public(services)


@api_router.put(
    "/rules", response_model=RulesPublic, dependencies=ADMIN_THEN_CSRF, responses=_RULE_ERRORS
)
def api_replace_rules(body: RulesBody, services: ServicesDep, user: AdminApiDep) -> RulesPublic:
    """Replace every rule (and set the given segments): all or nothing.

    Areas must embed their GeoJSON (``geojson``: one geometry per value); the server never
    reads files. Every problem is listed, ``row`` = the rule's position.
    """
    text = json.dumps(body.model_dump(exclude_none=True))
    rules_file = svc.parse_rules_text(text, {}, source=API_SOURCE, require_embedded=True)
    svc.import_rules(services.store, rules_file, source=API_SOURCE, user=user.username)
    return _rules_public(services)


@api_router.post(
    "/rules/reorder",
    response_model=RulesPublic,
    dependencies=ADMIN_THEN_CSRF,
    responses=_RULE_ERRORS,
)
def api_reorder(body: ReorderBody, services: ServicesDep, user: AdminApiDep) -> RulesPublic:
    """Put the rules in this order; refused when it adds a problem (a rule that can never win)."""
    svc.reorder_rules(services.store, body.ids, source=API_SOURCE, user=user.username)
    return _rules_public(services)


@api_router.post(
    "/assignment/dry-run",
    response_model=DryRunPublic,
    dependencies=ADMIN_THEN_CSRF,
    responses={
        422: {"description": "bad parameters, no territories, or a rule that no longer fits"}
    },
)
def api_dry_run(body: DryRunBody, state: StateDep, user: AdminApiDep) -> DryRunPublic:
    """Which accounts would change owner and why, the balance afterwards and whether a
    realignment is due. Nothing is stored; apply it with its ``dry_run_id``."""
    params = AssignParams.from_text(body.fields(), source="body")
    return DryRunPublic.of(_dry_run(state, params, user))


@api_router.post(
    "/assignment/apply",
    response_model=DryRunPublic,
    dependencies=ADMIN_THEN_CSRF,
    responses={
        404: {"description": "unknown or expired dry run"},
        409: {"description": "already applied, or accounts/territories/rules changed since"},
    },
)
def api_apply(body: ApplyBody, state: StateDep, user: AdminApiDep) -> DryRunPublic:
    """Store a dry run's changes in one transaction, with ownership history (cause, reason,
    user)."""
    return DryRunPublic.of(_apply(state, body.dry_run_id, user))


@api_router.get(
    "/accounts/{account_id}/ownership",
    response_model=OwnershipPublic,
    responses={404: {"description": "no such account (for a rep: not one of theirs)"}},
)
def api_ownership(
    account_id: str, services: ServicesDep, user: ApiUserDep, scope: ApiScopeDep
) -> OwnershipPublic:
    """Who owns the account now and why, and every earlier owner with cause, reason and user.

    A rep sees only accounts their territory owns now; others answer 404 as if absent.
    """
    found = svc.account_ownership(services.store, account_id, scope, user=user)
    return OwnershipPublic(
        account_id=account_id,
        current=OwnershipPeriodPublic.of(found.current) if found.current is not None else None,
        history=[OwnershipPeriodPublic.of(r) for r in found.history],
    )
