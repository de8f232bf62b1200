"""Planning results: routes per rep-day, their stops, and visits that could not be placed.

Infeasibility is data here, not an exception: every visit that is not in a route appears in
``Plan.unassigned`` with a reason code and a sentence a manager understands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from routeplanner.units import Metres, Seconds


class UnassignedReason(StrEnum):
    """Why a visit was not placed. The value is stable (stored, sent over the API)."""

    UNREACHABLE = "unreachable"
    OUTSIDE_OPENING_HOURS = "outside_opening_hours"
    NO_ALLOWED_DAY = "no_allowed_day"
    DAY_FULL_TIME = "day_full_time"
    DAY_FULL_VISITS = "day_full_visits"
    DAY_FULL_DRIVE = "day_full_drive"
    FREQUENCY_IMPOSSIBLE = "frequency_impossible"
    NO_REP = "no_rep"
    DROPPED_LOW_PRIORITY = "dropped_low_priority"
    REP_ABSENT = "rep_absent"
    PUBLIC_HOLIDAY = "public_holiday"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    UnassignedReason.UNREACHABLE: "not reachable on the road network",
    UnassignedReason.OUTSIDE_OPENING_HOURS: "open only outside the rep's working hours",
    UnassignedReason.NO_ALLOWED_DAY: "no working day of the rep is allowed for this visit",
    UnassignedReason.DAY_FULL_TIME: "the day is full: working hours end first",
    UnassignedReason.DAY_FULL_VISITS: "the day is full: maximum visits per day reached",
    UnassignedReason.DAY_FULL_DRIVE: "the day is full: maximum drive time reached",
    UnassignedReason.FREQUENCY_IMPOSSIBLE: "the visit frequency cannot be met",
    UnassignedReason.NO_REP: "no rep is assigned to this account",
    UnassignedReason.DROPPED_LOW_PRIORITY: "dropped in favour of more important visits",
    UnassignedReason.REP_ABSENT: "the rep is absent (leave, illness, training) when it is due",
    UnassignedReason.PUBLIC_HOLIDAY: "public holidays fall when it is due",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Stop:
    """One visit in a route; times are seconds after local midnight of the route's day."""

    visit_id: str
    account_id: str
    arrival_s: Seconds
    start_s: Seconds
    departure_s: Seconds
    travel_s: Seconds
    distance_m: Metres
    wait_s: Seconds = 0
    violations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DayRoute:
    """One rep's day: leave home at ``start_s``, visit ``stops`` in order, be back at ``end_s``."""

    rep_id: str
    day: date
    start_s: Seconds
    end_s: Seconds
    stops: tuple[Stop, ...] = ()
    travel_s: Seconds = 0
    distance_m: Metres = 0
    break_start_s: Seconds | None = None
    break_duration_s: Seconds = 0

    @property
    def service_s(self) -> Seconds:
        return sum(s.departure_s - s.start_s for s in self.stops)


@dataclass(frozen=True, slots=True, kw_only=True)
class Unassigned:
    """A visit that is in no route, with a reason code and a human explanation."""

    visit_id: str
    account_id: str
    reason: UnassignedReason
    detail: str = ""
    day: date | None = None

    @property
    def message(self) -> str:
        return f"{self.reason.label}: {self.detail}" if self.detail else self.reason.label


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A complete plan over a horizon; stored as one version and replaced only when complete."""

    routes: tuple[DayRoute, ...] = ()
    unassigned: tuple[Unassigned, ...] = ()
    created_at: datetime | None = None
    meta: dict[str, str] = field(default_factory=dict)

    def routes_of(self, rep_id: str) -> tuple[DayRoute, ...]:
        return tuple(r for r in self.routes if r.rep_id == rep_id)

    def accounts_on(self, rep_id: str, day: date | None = None) -> frozenset[str]:
        """The accounts on the rep's routes: of ``day``, or of every day when ``None``."""
        return frozenset(
            s.account_id
            for r in self.routes_of(rep_id)
            if day is None or r.day == day
            for s in r.stops
        )
