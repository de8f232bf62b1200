"""Rush hours: slower roads at given times of given weekdays, per road class.

A profile is a list of windows ("Mo-Fr 07:00-09:00: primary x 1.3, residential x 1.05");
outside every window roads drive at the road model's times. Within a window each road's
driving time is multiplied by its class's factor (waits and turns are not: a red light is as
long at 08:00 as at 10:00). Where windows overlap, the larger factor of a class wins. A day is
cut into *slots* at every window edge, so a day router prices each drive by the slot its
departure falls in: leaving at 08:00 through town takes longer than leaving at 10:00.

The defaults are sensible guesses, not measurements: morning and evening peaks on weekdays
(Friday's evening peak earlier), strongest on the main roads through towns, a mild Saturday
midday. Field data (:mod:`routeplanner.learning`) or local knowledge should replace them.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from routeplanner.model.calendar import WEEKDAYS
from routeplanner.roads.model import CLASS_INDEX, ROAD_CLASSES
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.travel.scaled import ScaledTravel

FloatArray = npt.NDArray[np.float64]
DAY_S = 24 * 3600

_PEAK = {
    "motorway": 1.3,
    "trunk": 1.3,
    "primary": 1.3,
    "secondary": 1.25,
    "tertiary": 1.15,
    "motorway_link": 1.3,
    "trunk_link": 1.3,
    "primary_link": 1.3,
    "secondary_link": 1.25,
    "tertiary_link": 1.15,
    "unclassified": 1.1,
    "road": 1.1,
    "residential": 1.05,
}
_SATURDAY = {"primary": 1.1, "secondary": 1.1, "primary_link": 1.1, "secondary_link": 1.1}


def _hhmm(text: str) -> int:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59:
        msg = f"expected a time HH:MM, got {text!r}"
        raise ValueError(msg)
    seconds = int(match.group(1)) * 3600 + int(match.group(2)) * 60
    if seconds > DAY_S:
        msg = f"time {text!r} is after 24:00"
        raise ValueError(msg)
    return seconds


def parse_days(text: str) -> frozenset[int]:
    """``Mo-Fr``, ``Sa``, ``Mo,We,Fr`` or ``Mo-We,Fr`` -> weekday numbers (Monday = 0)."""
    days: set[int] = set()
    for part in text.split(","):
        ends = [p.strip() for p in part.split("-")]
        if len(ends) not in (1, 2) or any(e not in WEEKDAYS for e in ends):
            msg = f"expected weekdays like Mo-Fr or Sa, got {text!r}"
            raise ValueError(msg)
        first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
        days.update(
            range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        )
    return frozenset(days)


class RushWindow(BaseModel):
    """One rush period: on ``days`` from ``start`` to ``end``, these classes drive slower."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: str = Field(description="weekdays, e.g. Mo-Fr or Sa")
    start: str = Field(description="HH:MM the window opens")
    end: str = Field(description="HH:MM the window closes")
    factors: dict[str, float] = Field(
        description="driving-time factor per road class; classes not listed drive as usual"
    )

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        parse_days(value)
        return value

    @field_validator("factors")
    @classmethod
    def _factors(cls, value: dict[str, float]) -> dict[str, float]:
        for key, factor in value.items():
            if key not in CLASS_INDEX:
                msg = f"unknown road class {key!r} (known: {', '.join(ROAD_CLASSES)})"
                raise ValueError(msg)
            if not 0 < factor <= 5:
                msg = f"factor for {key} must be in (0, 5], got {factor}"
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _order(self) -> RushWindow:
        if _hhmm(self.end) <= _hhmm(self.start):
            msg = f"window {self.start}-{self.end} ends before it starts"
            raise ValueError(msg)
        return self

    @property
    def weekdays(self) -> frozenset[int]:
        return parse_days(self.days)

    @property
    def span_s(self) -> tuple[int, int]:
        return _hhmm(self.start), _hhmm(self.end)

    def class_factors(self) -> FloatArray:
        out = np.ones(len(ROAD_CLASSES))
        for key, factor in self.factors.items():
            out[CLASS_INDEX[key]] = factor
        return out


def _default_windows() -> list[RushWindow]:
    return [
        RushWindow(days="Mo-Fr", start="07:00", end="09:00", factors=dict(_PEAK)),
        RushWindow(days="Mo-Th", start="16:00", end="18:30", factors=dict(_PEAK)),
        RushWindow(days="Fr", start="13:30", end="17:00", factors=dict(_PEAK)),
        RushWindow(days="Sa", start="11:00", end="14:00", factors=dict(_SATURDAY)),
    ]


@dataclass(frozen=True, slots=True)
class Slot:
    """A stretch of one weekday with constant factors: ``[start_s, end_s)`` after midnight."""

    start_s: int
    end_s: int
    factors: tuple[float, ...]

    @property
    def free(self) -> bool:
        return all(f == 1.0 for f in self.factors)


class TimeOfDayProfile(BaseModel):
    """Rush-hour windows; ``enabled=False`` (or no windows) means the same times all day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=True, description="use rush-hour factors when routing a day")
    windows: list[RushWindow] = Field(
        default_factory=_default_windows, description="rush periods (JSON list; docs/travel.md)"
    )

    def slots(self, weekday: int) -> tuple[Slot, ...]:
        """The weekday cut at every window edge, each piece with its per-class factors."""
        if not 0 <= weekday < 7:
            msg = f"weekday must be 0 (Monday) to 6, got {weekday}"
            raise ValueError(msg)
        active = [w for w in self.windows if self.enabled and weekday in w.weekdays]
        edges = sorted({0, DAY_S, *(t for w in active for t in w.span_s)})
        slots: list[Slot] = []
        for start, end in itertools.pairwise(edges):
            factors = np.ones(len(ROAD_CLASSES))
            for w in active:
                lo, hi = w.span_s
                if lo <= start and end <= hi:
                    factors = np.maximum(factors, w.class_factors())
            slot = Slot(start, end, tuple(float(f) for f in factors))
            if slots and slots[-1].factors == slot.factors:  # join equal neighbours
                slots[-1] = Slot(slots[-1].start_s, end, slot.factors)
            else:
                slots.append(slot)
        return tuple(slots)

    def slot_at(self, weekday: int, seconds: int) -> Slot:
        """The slot of a moment (seconds after midnight; beyond the day it is clamped)."""
        slots = self.slots(weekday)
        starts = [slot.start_s for slot in slots]
        return slots[max(0, bisect.bisect_right(starts, min(max(seconds, 0), DAY_S - 1)) - 1)]


def single_factor(factors: Sequence[float]) -> float:
    """One factor for a provider without road classes (straight lines): the median class's."""
    return float(np.median(np.asarray(factors, dtype=np.float64)))


@runtime_checkable
class ClassScalable(Protocol):
    """A provider that can slow each road class by its own factor (the road network)."""

    def with_class_factors(self, factors: Sequence[float]) -> TravelTimeProvider: ...


def travel_in(travel: TravelTimeProvider, slot: Slot) -> TravelTimeProvider:
    """``travel`` as it drives in ``slot``: per road class where it can, else one factor."""
    if slot.free:
        return travel
    if isinstance(travel, ClassScalable):
        return travel.with_class_factors(slot.factors)
    return ScaledTravel(travel, single_factor(slot.factors))
