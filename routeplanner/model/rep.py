"""Field reps: who drives, from where, when they work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from routeplanner.model.calendar import LunchBreak, TimeWindow, WeeklyHours
from routeplanner.model.geo import GeoPoint
from routeplanner.units import Seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class Rep:
    """A field rep; each working day becomes one vehicle for the router.

    ``working_hours`` gives the shift per weekday (one interval normally; the first start and last
    end count as the shift). ``max_drive_s`` of ``None`` means no drive-time limit beyond the shift.
    """

    rep_id: str
    name: str
    home: GeoPoint
    working_hours: WeeklyHours
    home_address: str = ""
    lunch: LunchBreak | None = None
    days_off: frozenset[date] = frozenset()
    max_visits_per_day: int = 12
    max_drive_s: Seconds | None = None
    email: str = ""
    qualifications: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.rep_id.strip():
            msg = "rep_id must not be empty"
            raise ValueError(msg)
        if self.max_visits_per_day < 1:
            msg = "max visits per day must be at least 1"
            raise ValueError(msg)
        if self.max_drive_s is not None and self.max_drive_s <= 0:
            msg = "max drive time must be positive"
            raise ValueError(msg)

    def shift(self, day: date) -> TimeWindow | None:
        """The working window on ``day``, or ``None`` on a day off or non-working weekday."""
        if day in self.days_off:
            return None
        windows = self.working_hours.on(day.weekday())
        if not windows:
            return None
        return TimeWindow(windows[0].start_s, windows[-1].end_s)
