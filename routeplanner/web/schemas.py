"""API shapes (pydantic), kept apart from the domain model so the API can evolve on its own."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Form, Path, Query
from pydantic import BaseModel, Field

from routeplanner.model import Account, Rep
from routeplanner.model.calendar import MAX_HORIZON_WEEKS
from routeplanner.services.planning import MAX_TIME_LIMIT_S as MAX_PLAN_TIME_LIMIT_S
from routeplanner.services.repair import VisitReason
from routeplanner.travel.provider import Snap

MAX_DB_ID = 2**31 - 1
"""Stored ids are 32-bit integers (PostgreSQL ``integer``); a larger number is no id at all,
and must answer 404/422, not reach the database driver (which overflows: a 500)."""
PlanIdPath = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="a stored plan version id")]
DbIdPath = Annotated[int, Path(ge=1, le=MAX_DB_ID)]
DbIdForm = Annotated[int, Form(ge=1, le=MAX_DB_ID)]
DbIdQuery = Annotated[int | None, Query(ge=1, le=MAX_DB_ID)]


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
    """Liveness: the process answers."""

    status: str
    version: str


class ReadyCheck(BaseModel):
    """One thing readiness checked: ``ok`` and what was found."""

    name: str
    ok: bool
    detail: str


class Readiness(BaseModel):
    """``ready`` when every check passed, else ``not ready`` (answered 503)."""

    status: str
    checks: list[ReadyCheck]


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
    weeks: int = Field(default=1, description=f"1..{MAX_HORIZON_WEEKS}")
    time_limit_s: float | None = Field(
        default=None,
        description=f"search time per territory, 0.5..{MAX_PLAN_TIME_LIMIT_S:g} s "
        "(default: setting)",
    )


class PlanVersionPublic(BaseModel):
    """One stored plan version."""

    plan_id: int
    status: str = Field(description="running | complete | failed | cancelled")
    start: date
    weeks: int
    is_current: bool
    created_at: datetime
    finished_at: datetime | None
    progress: float
    message: str
    error: str


class ReasonPublic(BaseModel):
    """Why the visit is on this day, derived from the gap bounds and the visit before it."""

    kind: str = Field(description="first | early | due | overdue | follow-up")
    label: str = Field(description='for people, e.g. "overdue by 3 days"')
    days_overdue: int = Field(description="days past the rule's maximum gap (0 if not late)")
    previous_visit: date | None = Field(description="the visit this one follows (done or planned)")
    due_from: date | None
    due_by: date | None
    missed_on: date | None = Field(description="the missed visit a follow-up replaces")

    @classmethod
    def of(cls, reason: VisitReason) -> ReasonPublic:
        return cls(
            kind=reason.kind.value,
            label=reason.label,
            days_overdue=reason.days_overdue,
            previous_visit=reason.previous,
            due_from=reason.due_from,
            due_by=reason.due_by,
            missed_on=reason.missed_on,
        )


class StopPublic(BaseModel):
    """One stop of a rep's day; times are local ``HH:MM``."""

    number: int
    visit_id: str
    account_id: str
    name: str
    address: str
    lat: float
    lon: float
    contact: str
    phone: str
    notes: str
    arrival: str
    start: str
    departure: str
    wait_min: int
    visit_min: int
    travel_min: int = Field(description="driving minutes from the previous stop (or home)")
    distance_km: float
    opening_hours: str = Field(description="the account's windows on this weekday")
    status: str | None = Field(description="reported outcome: done | missed | cancelled | ...")
    reason: ReasonPublic | None
    navigation: dict[str, str] = Field(description="geo:, OpenStreetMap and Google Maps links")
    violations: list[str]


class DayPublic(BaseModel):
    """A rep's day in the current plan."""

    rep_id: str
    day: date
    plan_id: int
    leave: str | None = Field(description="leave home (HH:MM); null on a day without visits")
    back: str | None
    drive_min: int
    distance_km: float
    lunch: str
    stops: list[StopPublic]


class DaySummaryPublic(BaseModel):
    """A day with visits for a rep in the current plan."""

    day: date
    visits: int


class ErrorItem(BaseModel):
    """One problem; input errors also name the ``source`` and ``row`` they come from."""

    field: str | None
    message: str
    source: str | None = None
    row: int | None = None


class ErrorPublic(BaseModel):
    """The one error format of the API (and of every JSON error answer)."""

    error: str = Field(description="what went wrong, for people")
    errors: list[ErrorItem] = Field(description="every problem with the request, may be empty")


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorPublic, "description": description}


API_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("the request body is not valid JSON"),
    401: _error("no valid API token and no login session"),
    403: _error("not allowed for this user (role, another rep's data) or CSRF token missing"),
    404: _error("no such object (or not visible to this user)"),
    422: _error("invalid request: errors[{field, message}]"),
    503: _error("database or road network unavailable"),
}
"""Documented on every API operation, so clients (and schema fuzzers) know every answer."""
