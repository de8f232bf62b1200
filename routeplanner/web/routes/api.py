"""JSON API under ``/api/v1`` (documented by the OpenAPI schema at /api/openapi.json)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request

from routeplanner import __version__
from routeplanner.errors import RoadNetworkError
from routeplanner.model import Account, Rep
from routeplanner.storage.records import UserRecord, UserRole
from routeplanner.travel.provider import Snap
from routeplanner.web.auth import CSRF_HEADER, ApiUserDep, csrf_token, require_api_user
from routeplanner.web.deps import get_services
from routeplanner.web.routes.accounts import account_change, revalidate
from routeplanner.web.schemas import AccountPatch, AccountPublic, Health, RepPublic
from routeplanner.web.services import Services

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


def require_api_manager(request: Request, user: ApiUserDep) -> UserRecord:
    """A manager; a session (not a bearer token) must also send the CSRF header to write."""
    if user.role is not UserRole.MANAGER:
        raise HTTPException(status_code=403, detail="only managers may do this")
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        sent = request.headers.get(CSRF_HEADER) or ""
        if not secrets.compare_digest(sent, csrf_token(request)):
            raise HTTPException(status_code=403, detail="invalid or missing CSRF token")
    return user


@router.patch(
    "/v1/accounts/{account_id}",
    response_model=AccountPublic,
    dependencies=[Depends(require_api_manager)],
    tags=["accounts"],
    responses={422: {"description": "invalid values: errors[{field, message}]"}},
)
def patch_account(account_id: str, patch: AccountPatch, services: ServicesDep) -> AccountPublic:
    """Change frequency, visit minutes or opening hours, validated exactly like an import."""
    account = services.repo.get_account(account_id)
    if account is None:
        raise HTTPException(status_code=404, detail=f"account {account_id!r} not found")
    minutes = "" if patch.visit_minutes is None else f"{patch.visit_minutes:g}"
    frequency = patch.frequency or ""
    if frequency.strip() == str(account.visit_rule):
        frequency = ""  # unchanged: keep custom gap days
    change = account_change(frequency, minutes, patch.opening_hours)
    (edited,) = revalidate([account], [change])  # InputError -> 422 in the one error format
    services.repo.upsert_accounts([edited], source="api")
    snaps = _safe_snaps(services, services.repo.list_accounts(), services.repo.list_reps())
    return AccountPublic.of(edited, snaps.get(f"account:{account_id}"))


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
