"""JSON API under ``/api/v1`` (documented by the OpenAPI schema at /api/openapi.json)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request

from routeplanner import __version__
from routeplanner.errors import RoadNetworkError
from routeplanner.model import Account, Rep
from routeplanner.storage.records import PlanInfo, UserRecord, UserRole
from routeplanner.travel.provider import Snap
from routeplanner.web.auth import check_csrf, require_api_user
from routeplanner.web.deps import get_services
from routeplanner.web.replan import PlanningJob, PlanningJobs
from routeplanner.web.routes.accounts import account_change, revalidate
from routeplanner.web.routes.plan import cancel_planning, get_planning_jobs, start_planning
from routeplanner.web.schemas import (
    AccountPatch,
    AccountPublic,
    Health,
    PlanJobPublic,
    PlanStart,
    PlanVersionPublic,
    RepPublic,
)
from routeplanner.web.services import Services
from routeplanner.workflows import next_monday

router = APIRouter(prefix="/api")
ServicesDep = Annotated[Services, Depends(get_services)]
AUTH = [Depends(require_api_user)]


@router.get("/health", response_model=Health, tags=["system"])
def health(services: ServicesDep) -> Health:
    """Liveness plus the state of the two things a plan needs: database and road network."""
    services.repo.list_reps()  # raises StorageError (-> 503) when the database is unreachable
    roads = "ok" if services.settings.osm_path.exists() else "missing"
    return Health(status="ok", version=__version__, database="ok", road_network=roads)


@router.get(
    "/v1/accounts", response_model=list[AccountPublic], dependencies=AUTH, tags=["accounts"]
)
def list_accounts(services: ServicesDep) -> list[AccountPublic]:
    accounts, reps = services.repo.list_accounts(), services.repo.list_reps()
    snaps = _safe_snaps(services, accounts, reps)
    return [AccountPublic.of(a, snaps.get(f"account:{a.account_id}")) for a in accounts]


@router.get(
    "/v1/accounts/{account_id}", response_model=AccountPublic, dependencies=AUTH, tags=["accounts"]
)
def get_account(account_id: str, services: ServicesDep) -> AccountPublic:
    accounts, reps = services.repo.list_accounts(), services.repo.list_reps()
    for a in accounts:
        if a.account_id == account_id:
            snaps = _safe_snaps(services, accounts, reps)
            return AccountPublic.of(a, snaps.get(f"account:{account_id}"))
    raise HTTPException(status_code=404, detail=f"account {account_id!r} not found")


@router.get("/v1/reps", response_model=list[RepPublic], dependencies=AUTH, tags=["reps"])
def list_reps(services: ServicesDep) -> list[RepPublic]:
    accounts, reps = services.repo.list_accounts(), services.repo.list_reps()
    snaps = _safe_snaps(services, accounts, reps)
    return [RepPublic.of(r, snaps.get(f"rep:{r.rep_id}")) for r in reps]


def _safe_snaps(services: Services, accounts: list[Account], reps: list[Rep]) -> dict[str, Snap]:
    """Snaps when a road network is available; an empty map (status unknown) otherwise."""
    try:
        return services.snaps(accounts, reps)
    except RoadNetworkError:
        return {}


def require_api_manager(
    user: Annotated[UserRecord, Depends(require_api_user)],
) -> UserRecord:
    if user.role is not UserRole.MANAGER:
        raise HTTPException(status_code=403, detail="only managers may do this")
    return user


async def api_csrf(request: Request) -> None:
    """A session (cookie) caller must send the CSRF header; a bearer-token caller need not."""
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        await check_csrf(request)


ManagerApiDep = Annotated[UserRecord, Depends(require_api_manager)]
PlanJobsDep = Annotated[PlanningJobs, Depends(get_planning_jobs)]


def _job(job: PlanningJob) -> PlanJobPublic:
    return PlanJobPublic(
        job_id=job.job_id,
        state=job.state,
        progress=1.0 if job.state == "done" else job.progress,
        message=job.message,
        error=job.error,
        plan_id=job.summary.plan_id if job.summary is not None else None,
    )


def _version(info: PlanInfo) -> PlanVersionPublic:
    return PlanVersionPublic(
        plan_id=info.plan_id,
        status=info.status.value,
        start=info.horizon.start,
        weeks=info.horizon.weeks,
        is_current=info.is_current,
        created_at=info.created_at,
        finished_at=info.finished_at,
        progress=info.progress,
        message=info.message,
        error=info.error,
    )


@router.get("/v1/plans", response_model=list[PlanVersionPublic], tags=["plans"])
def list_plans(services: ServicesDep, _user: ManagerApiDep) -> list[PlanVersionPublic]:
    """All stored plan versions, newest first (managers only)."""
    return [_version(p) for p in services.repo.list_plans()]


@router.post(
    "/v1/plans",
    response_model=PlanJobPublic,
    status_code=202,
    dependencies=[Depends(api_csrf)],
    tags=["plans"],
)
def start_plan(
    body: PlanStart, services: ServicesDep, jobs: PlanJobsDep, user: ManagerApiDep
) -> PlanJobPublic:
    """Start a planning run in the background; poll ``GET /api/v1/plans/{job_id}``.

    409 while another run is in progress. The current plan stays current until the new one is
    complete; a failed or cancelled run leaves it as it was.
    """
    settings = services.settings
    job = start_planning(
        services,
        jobs,
        user,
        start=body.start or next_monday(settings.timezone),
        weeks=body.weeks,
        time_limit_s=body.time_limit_s or settings.plan_time_limit_s,
    )
    return _job(job)


@router.get("/v1/plans/{job_id}", response_model=PlanJobPublic, tags=["plans"])
def get_plan_job(job_id: int, jobs: PlanJobsDep, _user: ManagerApiDep) -> PlanJobPublic:
    """State and progress of a planning run started in this app process."""
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"planning job {job_id} not found")
    return _job(job)


@router.post(
    "/v1/plans/{job_id}/cancel",
    response_model=PlanJobPublic,
    status_code=202,
    dependencies=[Depends(api_csrf)],
    tags=["plans"],
)
def cancel_plan_job(job_id: int, jobs: PlanJobsDep, _user: ManagerApiDep) -> PlanJobPublic:
    """Ask a planning run to stop (cooperative: it stops at its next progress report)."""
    return _job(cancel_planning(jobs, job_id))


@router.patch(
    "/v1/accounts/{account_id}",
    response_model=AccountPublic,
    dependencies=[Depends(require_api_manager), Depends(api_csrf)],
    tags=["accounts"],
    responses={422: {"description": "invalid values: errors[{field, message}]"}},
)
def patch_account(account_id: str, patch: AccountPatch, services: ServicesDep) -> AccountPublic:
    """Change frequency, visit minutes, opening hours, lock or qualifications (as an import)."""
    account = services.repo.get_account(account_id)
    if account is None:
        raise HTTPException(status_code=404, detail=f"account {account_id!r} not found")
    minutes = "" if patch.visit_minutes is None else f"{patch.visit_minutes:g}"
    frequency = patch.frequency or ""
    if frequency.strip() == str(account.visit_rule):
        frequency = ""  # unchanged: keep custom gap days
    requires = None if patch.requires is None else ", ".join(patch.requires)
    change = account_change(
        frequency, minutes, patch.opening_hours, locked_rep=patch.locked_rep, requires=requires
    )
    rep_ids = {r.rep_id for r in services.repo.list_reps()}
    # InputError -> 422 in the one error format
    (edited,) = revalidate([account], [change], rep_ids=rep_ids)
    services.repo.upsert_accounts([edited], source="api")
    snaps = _safe_snaps(services, services.repo.list_accounts(), services.repo.list_reps())
    return AccountPublic.of(edited, snaps.get(f"account:{account_id}"))
