"""API shapes (pydantic), kept apart from the domain model so the API can evolve on its own."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from routeplanner.model import Account, Rep
from routeplanner.travel.provider import Snap


class SnapPublic(BaseModel):
    """Where the point meets the road network; ``reachable`` false beyond the snap limit."""

    distance_m: float | None = Field(description="distance from the point to the nearest road")
    reachable: bool | None = Field(description="null when no road network is loaded")


class AccountPublic(BaseModel):
    id: str
    name: str
    address: str
    lat: float
    lon: float
    category: str
    value_class: str
    frequency: str
    min_gap_days: int
    max_gap_days: int
    visit_minutes: int
    opening_hours: str
    notes: str
    contact: str
    phone: str
    snap: SnapPublic
    locked_rep: str | None = Field(default=None, description="rep the account is pinned to")
    requires: list[str] = Field(default=[], description="qualifications its rep must have")

    @classmethod
    def of(cls, account: Account, snap: Snap | None) -> AccountPublic:
        return cls(
            id=account.account_id,
            name=account.name,
            address=account.address,
            lat=account.location.lat,
            lon=account.location.lon,
            category=account.category,
            value_class=account.value_class,
            frequency=str(account.visit_rule),
            min_gap_days=account.visit_rule.min_gap_days,
            max_gap_days=account.visit_rule.max_gap_days,
            visit_minutes=account.visit_duration_s // 60,
            opening_hours=str(account.opening_hours),
            notes=account.notes,
            contact=account.contact,
            phone=account.phone,
            snap=_snap(snap),
            locked_rep=account.locked_rep_id,
            requires=sorted(account.required_qualifications),
        )


class RepPublic(BaseModel):
    id: str
    name: str
    home_address: str
    home_lat: float
    home_lon: float
    working_hours: str
    max_visits_per_day: int
    snap: SnapPublic

    @classmethod
    def of(cls, rep: Rep, snap: Snap | None) -> RepPublic:
        return cls(
            id=rep.rep_id,
            name=rep.name,
            home_address=rep.home_address,
            home_lat=rep.home.lat,
            home_lon=rep.home.lon,
            working_hours=str(rep.working_hours),
            max_visits_per_day=rep.max_visits_per_day,
            snap=_snap(snap),
        )


class Health(BaseModel):
    status: str
    version: str
    database: str
    road_network: str


def _snap(snap: Snap | None) -> SnapPublic:
    if snap is None:
        return SnapPublic(distance_m=None, reachable=None)
    return SnapPublic(distance_m=round(snap.distance_m, 1), reachable=snap.reachable)


class AccountPatch(BaseModel):
    """Fields a manager may change; omitted (null) fields stay as they are."""

    frequency: str | None = Field(default=None, description='e.g. "weekly", "every 2 weeks"')
    visit_minutes: float | None = Field(default=None, description="minutes per visit")
    opening_hours: str | None = Field(
        default=None, description='e.g. "Mo-Fr 08:00-18:00"; empty means always open'
    )
    locked_rep: str | None = Field(
        default=None, description='pin to this rep (a stored rep id); "" removes the lock'
    )
    requires: list[str] | None = Field(
        default=None, description="qualifications the owning rep must have; [] removes them"
    )


class PlanStart(BaseModel):
    """Start a planning run for ``weeks`` weeks from ``start`` (a Monday; default next Monday)."""

    start: date | None = Field(default=None, description="first day, a Monday")
    weeks: int = Field(default=1, ge=1, le=13)
    time_limit_s: float | None = Field(
        default=None, gt=0, le=600, description="search time per territory (default: setting)"
    )


class PlanJobPublic(BaseModel):
    """A background planning run (ids are per app process and lost on restart)."""

    job_id: int
    state: str = Field(description="running | done | failed | cancelled")
    progress: float = Field(description="0..1")
    message: str
    error: str
    plan_id: int | None = Field(description="the stored plan version once done")


class PlanVersionPublic(BaseModel):
    """One stored plan version."""

    plan_id: int
    status: str = Field(description="running | complete | failed")
    start: date
    weeks: int
    is_current: bool
    created_at: datetime
    finished_at: datetime | None
    progress: float
    message: str
    error: str
