"""JSON API under ``/api/v1`` (documented by the OpenAPI schema at /api/openapi.json)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from routeplanner import __version__
from routeplanner.errors import RoadNetworkError
from routeplanner.model import Account, Rep
from routeplanner.travel.provider import Snap
from routeplanner.web.auth import require_api_user
from routeplanner.web.deps import get_services
from routeplanner.web.schemas import AccountPublic, Health, RepPublic
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
