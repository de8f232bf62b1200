"""Pure domain model: frozen dataclasses, no I/O; everything else depends on it, it on nothing."""

from routeplanner.model.account import Account
from routeplanner.model.calendar import WEEKDAYS, Horizon, LunchBreak, TimeWindow, WeeklyHours
from routeplanner.model.geo import GeoPoint
from routeplanner.model.plan import DayRoute, Plan, Stop, Unassigned, UnassignedReason
from routeplanner.model.region import Region
from routeplanner.model.rep import Rep
from routeplanner.model.rules import FrequencyKind, VisitRule
from routeplanner.model.territory import Territory

__all__ = [
    "WEEKDAYS",
    "Account",
    "DayRoute",
    "FrequencyKind",
    "GeoPoint",
    "Horizon",
    "LunchBreak",
    "Plan",
    "Region",
    "Rep",
    "Stop",
    "Territory",
    "TimeWindow",
    "Unassigned",
    "UnassignedReason",
    "VisitRule",
    "WeeklyHours",
]
