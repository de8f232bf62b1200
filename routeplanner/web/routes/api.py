"""JSON API under ``/api/v1`` (documented by the OpenAPI schema at /api/openapi.json)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from routeplanner import __version__
from routeplanner.errors import NotFoundError, RoadNetworkError
from routeplanner.model import Account, Rep
from routeplanner.services import imports, planning, system
from routeplanner.services.params import labelled
from routeplanner.services.planning import PlanParams
from routeplanner.storage.records import PlanInfo
from routeplanner.travel.provider import Snap
from routeplanner.web.auth import (
    ApiScopeDep,
    ApiUserDep,
    ManagerApiDep,
    api_csrf,
    require_api_manager,
    visible_account_ids,
)
from routeplanner.web.deps import get_services
from routeplanner.web.routes.plan import cancel_planning, start_planning
from routeplanner.web.schemas import (
    API_ERRORS,
    AccountPatch,
    AccountPublic,
    ErrorPublic,
    Health,
    PlanIdPath,
    PlanStart,
    PlanVersionPublic,
    Readiness,
    ReadyCheck,
    RepPublic,
)
from routeplanner.web.services import Services
from routeplanner.web.state import AppState, get_state

router = APIRouter(prefix="/api", responses=API_ERRORS)
ServicesDep = Annotated[Services, Depends(get_services)]
StateDep = Annotated[AppState, Depends(get_state)]


@router.get("/health", response_model=Health, tags=["system"])
async def health() -> Health:
    """Liveness: the process is up and answering. Touches nothing else (no database, no
    thread), so it is the cheapest request there is; readiness is ``/api/ready``."""
    return Health(status="ok", version=__version__)


@router.get(
    "/ready",
    response_model=Readiness,
    tags=["system"],
    responses={503: {"model": Readiness, "description": "a check failed"}},
)
def ready(services: ServicesDep) -> JSONResponse:
    """Readiness: the database answers and has this version's schema; the OSM file of the
    road network is there. 503 with the same body when a check fails."""
    found = system.readiness(
        services.store, services.settings.osm_path, roads_loaded=services.road_graph_loaded()
    )
    checks = [ReadyCheck(name=c.name, ok=c.ok, detail=c.detail) for c in found]
    ok = all(c.ok for c in checks)
    body = Readiness(status="ready" if ok else "not ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/v1/accounts", response_model=list[AccountPublic], tags=["accounts"])
def list_accounts(
    services: ServicesDep, user: ApiUserDep, scope: ApiScopeDep
) -> list[AccountPublic]:
    """Every account for an admin, a manager's regions' accounts; for a rep, only their own
    (territory and planned stops)."""
    accounts, reps = services.store.accounts.all(), services.store.reps.all()
    snaps = _safe_snaps(services, accounts, reps)
    mine = visible_account_ids(services, user, scope)
    return [
        AccountPublic.of(a, snaps.get(f"account:{a.account_id}"))
        for a in accounts
        if mine is None or a.account_id in mine
    ]


@router.get("/v1/accounts/{account_id}", response_model=AccountPublic, tags=["accounts"])
def get_account(
    account_id: str, services: ServicesDep, user: ApiUserDep, scope: ApiScopeDep
) -> AccountPublic:
    """One account; 404 also for a rep asking for another rep's account, or a manager for
    one outside their regions (nothing leaks)."""
    mine = visible_account_ids(services, user, scope)
    accounts, reps = services.store.accounts.all(), services.store.reps.all()
    for a in accounts:
        if a.account_id == account_id and (mine is None or account_id in mine):
            snaps = _safe_snaps(services, accounts, reps)
            return AccountPublic.of(a, snaps.get(f"account:{account_id}"))
    msg = f"account {account_id!r} not found"
    raise NotFoundError(msg)


@router.get("/v1/reps", response_model=list[RepPublic], tags=["reps"])
def list_reps(services: ServicesDep, user: ApiUserDep, scope: ApiScopeDep) -> list[RepPublic]:
    """Every rep for an admin, a manager's regions' reps; a rep sees only themselves."""
    accounts, reps = services.store.accounts.all(), scope.reps_of(services.store.reps.all())
    if not user.is_manager:
        reps = [r for r in reps if r.rep_id == user.rep_id]
    snaps = _safe_snaps(services, accounts, reps)
    return [RepPublic.of(r, snaps.get(f"rep:{r.rep_id}")) for r in reps]


def _safe_snaps(services: Services, accounts: list[Account], reps: list[Rep]) -> dict[str, Snap]:
    """Snaps when a road network is available; an empty map (status unknown) otherwise."""
    try:
        return services.snaps(accounts, reps)
    except RoadNetworkError:
        return {}


def _version(info: PlanInfo) -> PlanVersionPublic:
    return PlanVersionPublic(
        plan_id=info.plan_id,
        status=planning.public_status(info),
        start=info.horizon.start,
        weeks=info.horizon.weeks,
        is_current=info.is_current,
        created_at=info.created_at,
        finished_at=info.finished_at,
        progress=info.progress,
        message=info.message,
        error=info.error,
    )


def _stored(services: Services, plan_id: int) -> PlanInfo:
    try:
        return services.store.plans.info(plan_id)
    except NotFoundError as exc:
        msg = f"plan {plan_id} not found"
        raise NotFoundError(msg) from exc


@router.get("/v1/plans", response_model=list[PlanVersionPublic], tags=["plans"])
def list_plans(
    services: ServicesDep, _user: ManagerApiDep, scope: ApiScopeDep
) -> list[PlanVersionPublic]:
    """All stored plan versions, newest first (admins only: a version's figures cover every
    rep; a manager scoped to regions reads their reps' days)."""
    scope.require_everything("list plan versions")
    return [_version(p) for p in services.store.plans.all()]


@router.post(
    "/v1/plans",
    response_model=PlanVersionPublic,
    status_code=202,
    dependencies=[Depends(api_csrf)],
    tags=["plans"],
    responses={409: {"model": ErrorPublic, "description": "another run is in progress"}},
)
def start_plan(
    body: PlanStart, state: StateDep, user: ManagerApiDep, scope: ApiScopeDep
) -> PlanVersionPublic:
    """Start a planning run in the background; poll ``GET /api/v1/plans/{plan_id}``.

    The answer is the new plan version, status ``running``, with its stored id (valid across
    restarts). 409 while another run is in progress. The current plan stays current until
    the new one is complete; a failed or cancelled run leaves it as it was.
    """
    settings = state.settings
    with labelled("body"):
        params = PlanParams(
            start=body.start or planning.next_monday(settings.timezone),
            weeks=body.weeks,
            time_limit_s=settings.plan_time_limit_s
            if body.time_limit_s is None
            else body.time_limit_s,
        )
    job = start_planning(state, user, scope, params)
    assert job.plan_id is not None
    return _version(_stored(state.services, job.plan_id))


@router.get("/v1/plans/{plan_id}", response_model=PlanVersionPublic, tags=["plans"])
def get_plan(
    plan_id: PlanIdPath, services: ServicesDep, _user: ManagerApiDep, scope: ApiScopeDep
) -> PlanVersionPublic:
    """One stored plan version: status (running | complete | failed | cancelled), progress
    and error; what a client polls after starting a run (admins only)."""
    scope.require_everything("read plan versions")
    return _version(_stored(services, plan_id))


@router.post(
    "/v1/plans/{plan_id}/cancel",
    response_model=PlanVersionPublic,
    status_code=202,
    dependencies=[Depends(api_csrf)],
    tags=["plans"],
    responses={409: {"model": ErrorPublic, "description": "not running, or in another process"}},
)
def cancel_plan(
    plan_id: PlanIdPath, state: StateDep, _user: ManagerApiDep, scope: ApiScopeDep
) -> PlanVersionPublic:
    """Ask the run making this plan version to stop (cooperative: at its next progress
    report); poll the version until its status is ``cancelled``."""
    scope.require_everything("stop a planning run")
    return _version(cancel_planning(state, plan_id))


@router.patch(
    "/v1/accounts/{account_id}",
    response_model=AccountPublic,
    dependencies=[Depends(require_api_manager), Depends(api_csrf)],
    tags=["accounts"],
)
def patch_account(
    account_id: str, patch: AccountPatch, services: ServicesDep, scope: ApiScopeDep
) -> AccountPublic:
    """Change frequency, visit minutes, opening hours, lock or qualifications (as an import)."""
    edit = imports.AccountEdit(
        frequency=patch.frequency or "",
        visit_minutes="" if patch.visit_minutes is None else f"{patch.visit_minutes:g}",
        opening_hours=patch.opening_hours,
        locked_rep=patch.locked_rep,
        requires=None if patch.requires is None else ", ".join(patch.requires),
    )
    edited = imports.edit_account(services.store, account_id, edit, source="api", scope=scope)
    # brings the snapshot up to the edit (reading this account again) before it is acknowledged
    data = services.snapshot()
    snaps = _safe_snaps(services, list(data.accounts.values()), data.reps)
    return AccountPublic.of(edited, snaps.get(f"account:{account_id}"))
