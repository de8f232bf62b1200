"""The territories page and API: map and KPIs, design/realign jobs, apply an option, locks.

Admins and managers; a manager scoped to regions sees, designs, realigns and moves only their
regions' territories (the :class:`~routeplanner.services.scope.Scope` each handler passes on),
and only the jobs run in their scope. Jobs follow the plan page: started by a POST, followed
by a self-refreshing page (or by polling the API), cancellable; their options are proposals
until one is applied.
A job's work is :func:`routeplanner.services.territories.propose`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.model import Territory
from routeplanner.services import planning
from routeplanner.services import territories as territory_service
from routeplanner.services.planning import PlanningSetup
from routeplanner.services.scope import Scope
from routeplanner.services.territories import (
    ExportKind,
    Overview,
    PlanKpis,
    Proposal,
    ProposalOption,
    ServerDesignParams,
    TerritoryKpis,
)
from routeplanner.services.territory_moves import MAX_MOVE_ACCOUNTS, MoveResult, move_accounts
from routeplanner.storage.records import UserRecord
from routeplanner.web.auth import (
    MANAGER_THEN_CSRF,
    ApiScopeDep,
    CsrfDep,
    ManagerApiDep,
    ManagerDep,
    ScopeDep,
)
from routeplanner.web.deps import get_templates
from routeplanner.web.jobs import Job, TerritoryJob
from routeplanner.web.maps import TerritoryLayer, territory_colour, territory_svg
from routeplanner.web.schemas import API_ERRORS
from routeplanner.web.state import AppState, get_state
from routeplanner.web.territory_schemas import (
    ApplyBody,
    LockBody,
    MoveBody,
    MoveResultPublic,
    TerritoryJobPublic,
    TerritoryJobStart,
    TerritoryListPublic,
    TerritoryPublic,
)

router = APIRouter()
api_router = APIRouter(prefix="/api/v1/territories", tags=["territories"], responses=API_ERRORS)


StateDep = Annotated[AppState, Depends(get_state)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]


def _overview(state: AppState, scope: Scope) -> Overview:
    holidays = PlanningSetup.of(state.settings).holidays
    return territory_service.overview(
        state.services.store,
        state.services.travel,
        scope=scope,
        memo=state.kpi_memo,
        holidays=holidays,
    )


def start_job(
    state: AppState,
    user: UserRecord,
    scope: Scope,
    kind: str,
    fields: dict[str, str | None],
    *,
    source: str,
) -> TerritoryJob:
    """Validate the job's values (every problem at once) and start it; a ConflictError while
    another territory job runs. The job proposes; nothing is stored until an option is
    applied."""
    params = ServerDesignParams.from_text({**fields, "kind": kind}, source=source)
    services = state.services

    def work(job: Job[Proposal]) -> Proposal:
        inputs = territory_service.stored_inputs(services.store, scope)
        return territory_service.propose(
            inputs, services.travel(), params, job.report, jobs=planning.workers(state.settings)
        )

    return state.territory_jobs.start_proposal(user.username, params, work, scope)


def apply(
    state: AppState, job_id: int, option: int, user: UserRecord, scope: Scope
) -> ProposalOption:
    """Store one option of a finished job (409 when not finished, applied already, or the
    territories changed since the job started)."""
    jobs = state.territory_jobs
    proposal = jobs.finished_in(job_id, scope)
    params = jobs.params(job_id)
    kind = params.kind if params is not None else proposal.kind
    return territory_service.apply_option(
        state.services.store,
        proposal,
        option,
        user=user.username,
        name=f"job {job_id}",
        via=f"web {kind} job {job_id}",
    )


# -- page ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KpiRow:
    territory: Territory
    colour: str
    rep_name: str
    kpis: TerritoryKpis | None


@dataclass(frozen=True, slots=True)
class OptionView:
    """One option card: the figures a manager compares before applying."""

    number: int
    option: ProposalOption
    dev_before: float | None
    dev_after: float
    drive_before: float | None
    drive_after: float
    travel_before_min: float | None
    travel_after_min: float
    rows: list[tuple[str, TerritoryKpis | None, TerritoryKpis]]


def _drive(k: PlanKpis) -> float:
    return sum(t.drive_h for t in k.territories)


def _option_view(n: int, o: ProposalOption) -> OptionView:
    before = o.before
    by_rep = {t.rep_id: t for t in before.territories} if before is not None else {}
    return OptionView(
        number=n,
        option=o,
        dev_before=before.max_workload_dev_pct if before is not None else None,
        dev_after=o.kpis.max_workload_dev_pct,
        drive_before=_drive(before) if before is not None else None,
        drive_after=_drive(o.kpis),
        travel_before_min=before.mean_travel_to_home_s / 60 if before is not None else None,
        travel_after_min=o.kpis.mean_travel_to_home_s / 60,
        rows=[(t.rep_id, by_rep.get(t.rep_id), t) for t in o.kpis.territories],
    )


def _map(
    state: AppState,
    view: Overview,
    territories: tuple[Territory, ...],
    *,
    areas: bool,
    selected: frozenset[str] = frozenset(),
) -> str:
    # Accounts off the road network are listed under the map instead: one far-away account
    # would otherwise shrink every territory to a dot.
    accounts = {a.account_id: a for a in view.on_network()}
    homes = {r.rep_id: r for r in view.reps}
    shapes = (
        territory_service.areas_for(view, territories, state.services.travel, state.kpi_memo)
        if areas
        else ()
    )
    layers = []
    assigned: set[str] = set()
    for i, t in enumerate(territories):
        members = [accounts[a] for a in t.account_ids if a in accounts]
        assigned.update(a.account_id for a in members)
        rep = homes.get(t.rep_id or "")
        layers.append(
            TerritoryLayer(
                territory_id=t.territory_id,
                colour=territory_colour(i),
                accounts=[(a.account_id, a.name, a.location) for a in members],
                home=rep.home if rep is not None else None,
                home_title=f"{rep.name} ({rep.rep_id}), home" if rep is not None else "",
                area=shapes[i] if i < len(shapes) else None,
            )
        )
    loose = [
        (a.account_id, a.name, a.location)
        for a in accounts.values()
        if a.account_id not in assigned
    ]
    # A rep without a territory still shows up: their home is where a new territory would grow.
    for rep in view.reps:
        if all(t.rep_id != rep.rep_id for t in territories):
            layers.append(
                TerritoryLayer(
                    territory_id="",
                    colour="#7f7f7f",
                    accounts=[],
                    home=rep.home,
                    home_title=f"{rep.name} ({rep.rep_id}), home, no territory",
                )
            )
    return territory_svg(
        layers,
        state.services.road_graph(),
        areas=areas,
        unassigned=loose,
        selected=selected,
        tile_url=state.settings.tile_url,
    )


@dataclass(frozen=True, slots=True)
class MoveRow:
    """One account in the move list: ticked when it is part of the selection shown."""

    account_id: str
    name: str
    territory_id: str
    checked: bool


def _move_rows(view: Overview, selected: frozenset[str]) -> list[MoveRow]:
    home = {aid: t.territory_id for t in view.territories for aid in t.account_ids}
    rows = [
        MoveRow(a.account_id, a.name, home.get(a.account_id, ""), a.account_id in selected)
        for a in view.accounts
    ]
    return sorted(rows, key=lambda r: (r.territory_id, r.account_id))


def _page(
    request: Request,
    state: AppState,
    templates: Jinja2Templates,
    scope: Scope,
    *,
    job: int | None = None,
    preview: int | None = None,
    areas: int = 1,
    move: MoveResult | None = None,
    selected: frozenset[str] = frozenset(),
    moved: int | None = None,
) -> Response:
    view = _overview(state, scope)
    jobs = state.territory_jobs
    shown = jobs.get(job) if job is not None else jobs.latest_in(scope)
    if shown is not None and not jobs.seen_by(shown.job_id, scope):
        shown = None
    proposal = shown.summary if shown is not None and shown.state == "done" else None
    options = [_option_view(n, o) for n, o in enumerate(proposal.options, 1)] if proposal else []
    map_territories = view.territories
    previewing = None
    if move is not None:
        map_territories = move.territories
    elif proposal is not None and preview is not None and 1 <= preview <= len(proposal.options):
        previewing = preview
        map_territories = proposal.options[preview - 1].territories
    params = jobs.params(shown.job_id) if shown is not None else None
    rep_names = {r.rep_id: r.name for r in view.reps}
    by_rep = {k.rep_id: k for k in view.kpis.territories} if view.kpis is not None else {}
    rows = [
        KpiRow(
            t, territory_colour(i), rep_names.get(t.rep_id or "", "—"), by_rep.get(t.rep_id or "")
        )
        for i, t in enumerate(view.territories)
    ]
    context: dict[str, object] = {
        "view": view,
        "rows": rows,
        "map_svg": _map(state, view, map_territories, areas=bool(areas), selected=selected),
        "areas": bool(areas),
        "job": shown,
        "kind": params.kind if params is not None else "",
        "params": params,
        "running": jobs.running(),
        "proposal": proposal,
        "options": options,
        "previewing": previewing,
        "legend": [(territory_colour(i), t.territory_id) for i, t in enumerate(map_territories)],
        "move": move,
        "move_rows": _move_rows(view, selected),
        "moved": moved,
    }
    return templates.TemplateResponse(request, "territories.html", context)


@router.get("/territories", response_class=HTMLResponse, include_in_schema=False)
def territories_page(
    request: Request,
    _user: ManagerDep,
    scope: ScopeDep,
    state: StateDep,
    templates: TemplatesDep,
    job: int | None = None,
    preview: int | None = None,
    areas: int = 1,
    moved: int | None = None,
) -> Response:
    """Map and KPI table of the current territories; run, follow and apply design/realign;
    select accounts and move them to another territory."""
    return _page(
        request, state, templates, scope, job=job, preview=preview, areas=areas, moved=moved
    )


def move(
    state: AppState,
    user: UserRecord,
    scope: Scope,
    account_ids: list[str],
    target: str,
    *,
    dry_run: bool,
) -> MoveResult:
    """Move accounts into ``target`` (or, ``dry_run``, only answer the figures)."""
    return move_accounts(
        state.services.store,
        account_ids,
        target,
        user.username,
        dry_run,
        travel=state.services.travel,
        scope=scope,
        holidays=PlanningSetup.of(state.settings).holidays,
        memo=state.kpi_memo,
    )


@router.post("/territories/moves", include_in_schema=False, dependencies=[CsrfDep])
def move_from_page(
    request: Request,
    user: ManagerDep,
    scope: ScopeDep,
    state: StateDep,
    templates: TemplatesDep,
    target_territory: Annotated[str, Form(max_length=200)] = "",
    account_ids: Annotated[list[str] | None, Form(max_length=MAX_MOVE_ACCOUNTS)] = None,
    action: Annotated[str, Form(max_length=20)] = "preview",
) -> Response:
    """``action=preview``: the page with the figures before and after and the moved split on
    the map; ``action=apply``: store the moves and show the page again."""
    ids = account_ids or []
    result = move(state, user, scope, ids, target_territory, dry_run=action != "apply")
    if result.applied:
        return RedirectResponse(
            f"/territories?moved={len(result.moves)}#territory-move", status_code=303
        )
    return _page(request, state, templates, scope, move=result, selected=frozenset(ids))


@router.post("/territories/{kind}", include_in_schema=False, dependencies=[CsrfDep])
def start_from_page(
    kind: str,
    user: ManagerDep,
    scope: ScopeDep,
    state: StateDep,
    horizon_days: Annotated[str, Form()] = "",
    tolerance_pct: Annotated[str, Form()] = "",
    max_moves: Annotated[str, Form()] = "",
    move_penalty_s: Annotated[str, Form()] = "",
    time_limit_s: Annotated[str, Form()] = "",
    value_weight: Annotated[str, Form()] = "",
) -> Response:
    """``kind`` is ``design`` or ``realign``; bad values give a 422 page naming each field."""
    fields: dict[str, str | None] = {
        "horizon_days": horizon_days,
        "tolerance_pct": tolerance_pct,
        "max_moves": max_moves,
        "move_penalty_s": move_penalty_s,
        "time_limit_s": time_limit_s,
        "value_weight": value_weight,
    }
    job = start_job(state, user, scope, kind, fields, source="form")
    return RedirectResponse(f"/territories?job={job.job_id}", status_code=303)


@router.post("/territories/jobs/{job_id}/cancel", include_in_schema=False, dependencies=[CsrfDep])
def cancel_from_page(job_id: int, _user: ManagerDep, scope: ScopeDep, state: StateDep) -> Response:
    state.territory_jobs.find_in(job_id, scope).cancel.set()
    return RedirectResponse(f"/territories?job={job_id}", status_code=303)


@router.post("/territories/jobs/{job_id}/apply", include_in_schema=False, dependencies=[CsrfDep])
def apply_from_page(
    job_id: int,
    user: ManagerDep,
    scope: ScopeDep,
    state: StateDep,
    option: Annotated[int, Form()],
) -> Response:
    apply(state, job_id, option, user, scope)
    return RedirectResponse(f"/territories?job={job_id}", status_code=303)


@router.post("/territories/lock/{territory_id}", include_in_schema=False, dependencies=[CsrfDep])
def lock_from_page(
    territory_id: str,
    user: ManagerDep,
    scope: ScopeDep,
    state: StateDep,
    locked: Annotated[str, Form()] = "",
) -> Response:
    lock = locked in ("1", "true", "on")
    store = state.services.store
    territory_service.set_lock(store, territory_id, lock, user=user.username, scope=scope)
    return RedirectResponse("/territories", status_code=303)


def _download(state: AppState, scope: Scope, what: ExportKind) -> Response:
    name, media_type, text = territory_service.export(_overview(state, scope), what)
    return Response(
        text.encode("utf-8"),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/territories/export.geojson", include_in_schema=False)
def export_geojson(
    _user: ManagerDep, scope: ScopeDep, state: StateDep, geometry: str = "area"
) -> Response:
    """Territory areas with KPI properties for QGIS (``geometry=hull``: convex hulls;
    ``geometry=points``: one feature per account)."""
    kinds: dict[str, ExportKind] = {"points": "points", "hull": "hull"}
    return _download(state, scope, kinds.get(geometry, "area"))


@router.get("/territories/export.csv", include_in_schema=False)
def export_csv(
    _user: ManagerDep, scope: ScopeDep, state: StateDep, what: str = "accounts"
) -> Response:
    """One row per account with its territory (``what=kpis``: one row per territory)."""
    return _download(state, scope, "kpis" if what == "kpis" else "accounts")


# -- API -------------------------------------------------------------------------------------


def _job(state: AppState, job: TerritoryJob) -> TerritoryJobPublic:
    return TerritoryJobPublic.of(job, state.territory_jobs.params(job.job_id))


@api_router.get("", response_model=TerritoryListPublic)
def api_list(state: StateDep, _user: ManagerApiDep, scope: ApiScopeDep) -> TerritoryListPublic:
    """The current territories (a manager's regions' only) with KPIs per territory and for
    the whole split."""
    return TerritoryListPublic.of(_overview(state, scope))


_ERRORS: dict[int | str, dict[str, str]] = {
    409: {"description": "another territory job is running"},
    422: {"description": "invalid values: errors[{field, message}]"},
}


@api_router.post(
    "/design",
    response_model=TerritoryJobPublic,
    status_code=202,
    dependencies=MANAGER_THEN_CSRF,
    responses=_ERRORS,
)
def api_design(
    body: TerritoryJobStart, state: StateDep, user: ManagerApiDep, scope: ApiScopeDep
) -> TerritoryJobPublic:
    """Design territories from scratch in the background (locked territories are kept); a
    manager scoped to regions designs only their regions' territories, accounts and reps.

    Poll ``GET /api/v1/territories/jobs/{job_id}``; nothing is stored until an option is
    applied.
    """
    return _job(state, start_job(state, user, scope, "design", body.fields(), source="body"))


@api_router.post(
    "/realign",
    response_model=TerritoryJobPublic,
    status_code=202,
    dependencies=MANAGER_THEN_CSRF,
    responses=_ERRORS,
)
def api_realign(
    body: TerritoryJobStart, state: StateDep, user: ManagerApiDep, scope: ApiScopeDep
) -> TerritoryJobPublic:
    """Realign the current territories (a scoped manager's regions' only): options from
    "stable" (few moves) to "fair"."""
    return _job(state, start_job(state, user, scope, "realign", body.fields(), source="body"))


@api_router.get("/jobs/{job_id}", response_model=TerritoryJobPublic)
def api_job(
    job_id: int, state: StateDep, _user: ManagerApiDep, scope: ApiScopeDep
) -> TerritoryJobPublic:
    """State and progress of a job; once done, its options with before/after KPIs."""
    return _job(state, state.territory_jobs.find_in(job_id, scope))


@api_router.post(
    "/jobs/{job_id}/cancel",
    response_model=TerritoryJobPublic,
    status_code=202,
    dependencies=MANAGER_THEN_CSRF,
)
def api_cancel(
    job_id: int, state: StateDep, _user: ManagerApiDep, scope: ApiScopeDep
) -> TerritoryJobPublic:
    """Ask a job to stop (cooperative: at its next progress report)."""
    job = state.territory_jobs.find_in(job_id, scope)
    job.cancel.set()
    return _job(state, job)


@api_router.post(
    "/jobs/{job_id}/apply",
    response_model=TerritoryListPublic,
    dependencies=MANAGER_THEN_CSRF,
    responses={
        409: {"description": "job not done, already applied, or territories changed since"},
        422: {"description": "no such option: errors[{field, message}]"},
    },
)
def api_apply(
    job_id: int, body: ApplyBody, state: StateDep, user: ManagerApiDep, scope: ApiScopeDep
) -> TerritoryListPublic:
    """Store one option as the current territories, with ownership history, in one transaction."""
    apply(state, job_id, body.option, user, scope)
    return TerritoryListPublic.of(_overview(state, scope))


@api_router.post(
    "/moves",
    response_model=MoveResultPublic,
    dependencies=MANAGER_THEN_CSRF,
    responses={
        409: {"description": "the territories changed while the figures were computed"},
        422: {"description": "bad selection or target: errors[{field, message}]"},
    },
)
def api_moves(
    body: MoveBody, state: StateDep, user: ManagerApiDep, scope: ApiScopeDep
) -> MoveResultPublic:
    """Move accounts into a territory, with the figures before and after (workload and value
    deviation, travel, drive, enclaves, qualification conflicts). ``dry_run``: figures only.
    Applied moves are stored in one transaction with ownership history (cause ``manual``).
    A rep lacking a required qualification may be given the account; it is reported."""
    ids, target = body.account_ids, body.target_territory
    result = move(state, user, scope, ids, target, dry_run=body.dry_run)
    return MoveResultPublic.of(result)


@api_router.post(
    "/{territory_id}/lock", response_model=TerritoryPublic, dependencies=MANAGER_THEN_CSRF
)
def api_lock(
    territory_id: str, body: LockBody, state: StateDep, user: ManagerApiDep, scope: ApiScopeDep
) -> TerritoryPublic:
    """Lock (realignment leaves it exactly as it is) or unlock a territory."""
    store = state.services.store
    locked = territory_service.set_lock(
        store, territory_id, body.locked, user=user.username, scope=scope
    )
    return TerritoryPublic.of(locked)
