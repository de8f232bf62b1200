"""Time of day, weekly hours, lunch breaks and the planning horizon.

Times of day are integer seconds after local midnight; dates are plain ``date`` objects in the
horizon's time zone. Conversion to aware datetimes happens only through :class:`Horizon`, so the
core never mixes time zones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from routeplanner.units import DAY, Seconds, format_hhmm

WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
"""Weekday abbreviations as in OSM ``opening_hours``; index = ``date.weekday()``."""


@dataclass(frozen=True, slots=True, order=True)
class TimeWindow:
    """A half-open interval ``[start_s, end_s)`` of seconds after local midnight."""

    start_s: Seconds
    end_s: Seconds

    def __post_init__(self) -> None:
        if self.start_s < 0 or self.end_s > DAY:
            msg = f"time window {self} must lie within one day (00:00-24:00)"
            raise ValueError(msg)
        if self.end_s <= self.start_s:
            msg = (
                f"time window end {format_hhmm(self.end_s)} must be after its start "
                f"{format_hhmm(self.start_s)}"
            )
            raise ValueError(msg)

    @property
    def length_s(self) -> Seconds:
        return self.end_s - self.start_s

    def intersect(self, other: TimeWindow) -> TimeWindow | None:
        start, end = max(self.start_s, other.start_s), min(self.end_s, other.end_s)
        return TimeWindow(start, end) if end > start else None

    def __str__(self) -> str:
        return f"{format_hhmm(self.start_s)}-{format_hhmm(self.end_s)}"


def _normalise(windows: Iterable[TimeWindow]) -> tuple[TimeWindow, ...]:
    """Sort and merge overlapping or touching windows so each day is a clean list."""
    merged: list[TimeWindow] = []
    for w in sorted(windows):
        if merged and w.start_s <= merged[-1].end_s:
            last = merged[-1]
            merged[-1] = TimeWindow(last.start_s, max(last.end_s, w.end_s))
        else:
            merged.append(w)
    return tuple(merged)


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Open (or working) intervals per weekday, Monday first; several intervals a day allowed."""

    days: tuple[tuple[TimeWindow, ...], ...] = field(default=((),) * 7)

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            msg = f"weekly hours need 7 weekdays, got {len(self.days)}"
            raise ValueError(msg)
        object.__setattr__(self, "days", tuple(_normalise(d) for d in self.days))

    @classmethod
    def always(cls) -> WeeklyHours:
        """Open all day every day: the neutral element for intersections."""
        return cls(tuple((TimeWindow(0, DAY),) for _ in range(7)))

    @classmethod
    def uniform(cls, window: TimeWindow, weekdays: Iterable[int] = range(5)) -> WeeklyHours:
        wanted = set(weekdays)
        return cls(tuple((window,) if i in wanted else () for i in range(7)))

    def on(self, weekday: int) -> tuple[TimeWindow, ...]:
        return self.days[weekday]

    def is_open(self, weekday: int) -> bool:
        return bool(self.days[weekday])

    def open_weekdays(self) -> frozenset[int]:
        return frozenset(i for i, d in enumerate(self.days) if d)

    def intersect_day(self, weekday: int, window: TimeWindow) -> tuple[TimeWindow, ...]:
        """The parts of this weekday's intervals inside ``window`` (e.g. a rep's shift)."""
        parts = (w.intersect(window) for w in self.days[weekday])
        return tuple(p for p in parts if p is not None)

    def longest_s(self, weekday: int) -> Seconds:
        return max((w.length_s for w in self.days[weekday]), default=0)

    def __str__(self) -> str:
        """Render in OSM ``opening_hours`` syntax, grouping equal consecutive days."""
        parts: list[str] = []
        i = 0
        while i < 7:
            j = i
            while j + 1 < 7 and self.days[j + 1] == self.days[i]:
                j += 1
            if self.days[i]:
                span = WEEKDAYS[i] if i == j else f"{WEEKDAYS[i]}-{WEEKDAYS[j]}"
                parts.append(f"{span} " + ",".join(str(w) for w in self.days[i]))
            i = j + 1
        return "; ".join(parts) if parts else "off"


@dataclass(frozen=True, slots=True, kw_only=True)
class LunchBreak:
    """A break of ``duration_s`` that must start and end inside ``window``."""

    window: TimeWindow
    duration_s: Seconds

    def __post_init__(self) -> None:
        if self.duration_s < 0:
            msg = "lunch break duration must not be negative"
            raise ValueError(msg)
        if self.duration_s > self.window.length_s:
            msg = (
                f"lunch break of {self.duration_s // 60} min does not fit its window {self.window}"
            )
            raise ValueError(msg)


MAX_HORIZON_WEEKS = 13
"""Longest plan: a quarter. Visit frequencies run up to "every 4 weeks", so a quarter holds
three cycles of the rarest; beyond it the accounts, reps and absences a plan assumes no longer
hold, while the run time and the stored stops grow with every week."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Horizon:
    """The planned period: ``weeks`` weeks from ``start`` in the IANA time zone ``timezone``."""

    start: date
    weeks: int
    timezone: str = "Europe/Berlin"

    def __post_init__(self) -> None:
        if not 1 <= self.weeks <= MAX_HORIZON_WEEKS:
            msg = f"horizon weeks must be 1..{MAX_HORIZON_WEEKS}, got {self.weeks}"
            raise ValueError(msg)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"unknown time zone {self.timezone!r}"
            raise ValueError(msg) from exc

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def end(self) -> date:
        """Last day inside the horizon (inclusive)."""
        return self.start + timedelta(days=7 * self.weeks - 1)

    def days(self) -> Iterator[date]:
        for offset in range(7 * self.weeks):
            yield self.start + timedelta(days=offset)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def to_datetime(self, day: date, seconds: Seconds) -> datetime:
        """Aware datetime of ``seconds`` after local midnight on ``day``.

        Adding a timedelta to local midnight (rather than building ``time(h, m)``) keeps the
        meaning "wall-clock seconds since midnight" even on DST-change days, where the wall clock
        skips or repeats an hour; fold=0 picks the first occurrence of a repeated hour.
        """
        naive = datetime.combine(day, time(0)) + timedelta(seconds=seconds)
        return naive.replace(tzinfo=self.tz)

    def from_datetime(self, moment: datetime) -> tuple[date, Seconds]:
        """Inverse of :meth:`to_datetime` for an aware datetime."""
        if moment.tzinfo is None:
            msg = "datetime must be timezone-aware"
            raise ValueError(msg)
        local = moment.astimezone(self.tz)
        midnight = datetime.combine(local.date(), time(0))
        return local.date(), int((local.replace(tzinfo=None) - midnight).total_seconds())
