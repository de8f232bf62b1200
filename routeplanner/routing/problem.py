"""Solver-independent routing problem: visits, vehicles (rep-days) and a travel-time matrix.

All times are integer seconds on one axis whose zero the caller chooses (midnight of the day for
a single rep-day; midnight of the horizon's first day for a multi-day problem). Locations are
indices into the matrices. Time windows here constrain the *start of service*: the builder that
turns opening hours into a problem subtracts the visit length from the closing time, so a
window means "arrive and start between these times".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from routeplanner.errors import InputError, Problem

UNREACHABLE_S = 10**9
"""A travel time at or above this (about 31 years) means "no road path": providers may write it
into a matrix, the router never uses such an arc and reports the visit as unreachable."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitSpec:
    """One visit to route.

    ``penalty`` is the cost of leaving it out, on the same scale as the objective (seconds or
    metres); ``None`` means the visit is required. ``allowed_vehicles`` of ``None`` allows any.
    """

    visit_id: str
    location: int
    service_s: int
    windows: tuple[tuple[int, int], ...] = ()
    penalty: int | None = None
    allowed_vehicles: frozenset[str] | None = None
    demand: int = 0
    account_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakSpec:
    """A break of ``duration_s`` whose start lies in ``[earliest_start, latest_start]``."""

    earliest_start: int
    latest_start: int
    duration_s: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VehicleSpec:
    """One rep-day: leaves ``start_location`` from ``shift_start``, is back by ``shift_end``."""

    vehicle_id: str
    start_location: int
    end_location: int
    shift_start: int
    shift_end: int
    lunch: BreakSpec | None = None
    max_drive_s: int | None = None
    max_visits: int | None = None
    capacity: int | None = None
    fixed_cost: int = 0
    rep_id: str = ""
    day_index: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeSlot:
    """Travel for a drive that *departs* in ``[start_s, end_s)``: these matrices instead of the
    problem's own (a rush hour). Same shape as the problem's matrices."""

    start_s: int
    end_s: int
    durations_s: npt.NDArray[np.int64]
    distances_m: npt.NDArray[np.int64] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingProblem:
    """Visits, vehicles and matrices; ``objective`` is what the solver minimises.

    ``time_slots`` make travel depend on the departure time: a drive leaving at ``t`` takes the
    matrices of the slot containing ``t``, outside every slot the problem's own. Engines see a
    fixed matrix (:meth:`assuming`); the ETA checker times every leg by its real departure.
    """

    visits: tuple[VisitSpec, ...]
    vehicles: tuple[VehicleSpec, ...]
    durations_s: npt.NDArray[np.int64]
    distances_m: npt.NDArray[np.int64] | None = None
    objective: str = "duration"  # "duration" (travel seconds) or "distance" (metres)
    source: str = "problem"
    meta: dict[str, str] = field(default_factory=dict)
    time_slots: tuple[TimeSlot, ...] = ()

    def slot_of(self, depart: int) -> int:
        """Index of the time slot a departure at ``depart`` falls in, -1 for none."""
        for k, slot in enumerate(self.time_slots):
            if slot.start_s <= depart < slot.end_s:
                return k
        return -1

    def slot_end(self, depart: int) -> int:
        """The first instant after ``depart`` whose slot differs (when waiting changes travel)."""
        k = self.slot_of(depart)
        if k >= 0:
            return self.time_slots[k].end_s
        later = [s.start_s for s in self.time_slots if s.start_s > depart]
        return min(later, default=UNREACHABLE_S)

    def leg(self, i: int, j: int, depart: int) -> tuple[int, int]:
        """Seconds and metres of the drive ``i -> j`` leaving at ``depart``."""
        k = self.slot_of(depart) if self.time_slots else -1
        durations = self.durations_s if k < 0 else self.time_slots[k].durations_s
        distances = self.distances_m if k < 0 else self.time_slots[k].distances_m
        if distances is None:
            distances = self.distances_m
        metres = int(distances[i, j]) if distances is not None else 0
        return int(durations[i, j]), metres

    def assuming(self, departures: npt.NDArray[np.int64]) -> RoutingProblem:
        """This problem with fixed travel: every drive from location ``i`` priced as if it left
        at ``departures[i]`` (the engines' view of a time-dependent problem)."""
        if not self.time_slots:
            return self
        durations = self.durations_s.copy()
        distances = None if self.distances_m is None else self.distances_m.copy()
        for i, depart in enumerate(departures.tolist()):
            k = self.slot_of(int(depart))
            if k >= 0:
                slot = self.time_slots[k]
                durations[i] = slot.durations_s[i]
                if distances is not None and slot.distances_m is not None:
                    distances[i] = slot.distances_m[i]
        return replace(self, durations_s=durations, distances_m=distances, time_slots=())

    def check(self) -> None:
        """Raise :class:`InputError` listing every inconsistency, before any solver sees it."""
        problems: list[Problem] = []
        n = self.durations_s.shape[0]
        if self.durations_s.shape != (n, n):
            problems.append(Problem(self.source, None, "durations_s", "matrix must be square"))
        if self.distances_m is not None and self.distances_m.shape != self.durations_s.shape:
            problems.append(
                Problem(self.source, None, "distances_m", "shape differs from durations")
            )
        if self.objective not in ("duration", "distance"):
            problems.append(Problem(self.source, None, "objective", "must be duration or distance"))
        if self.objective == "distance" and self.distances_m is None:
            problems.append(
                Problem(self.source, None, "distances_m", "needed for objective distance")
            )
        seen: set[str] = set()
        vehicle_ids = {v.vehicle_id for v in self.vehicles}
        for v in self.visits:
            where = f"visit {v.visit_id}"
            if v.visit_id in seen:
                problems.append(Problem(self.source, None, where, "duplicate visit id"))
            seen.add(v.visit_id)
            if not 0 <= v.location < n:
                problems.append(Problem(self.source, None, where, f"unknown location {v.location}"))
            if v.service_s < 0:
                problems.append(Problem(self.source, None, where, "service time is negative"))
            for start, end in v.windows:
                if end < start:
                    problems.append(
                        Problem(
                            self.source,
                            None,
                            where,
                            f"time window ends ({end}) before it starts ({start})",
                        )
                    )
            if v.penalty is not None and v.penalty < 0:
                problems.append(Problem(self.source, None, where, "penalty is negative"))
            if v.allowed_vehicles is not None and not v.allowed_vehicles <= vehicle_ids:
                unknown = sorted(v.allowed_vehicles - vehicle_ids)
                problems.append(Problem(self.source, None, where, f"unknown vehicles {unknown}"))
        for veh in self.vehicles:
            where = f"vehicle {veh.vehicle_id}"
            for loc in (veh.start_location, veh.end_location):
                if not 0 <= loc < n:
                    problems.append(Problem(self.source, None, where, f"unknown location {loc}"))
            if veh.shift_end < veh.shift_start:
                problems.append(Problem(self.source, None, where, "shift ends before it starts"))
            if veh.lunch is not None and veh.lunch.latest_start < veh.lunch.earliest_start:
                problems.append(
                    Problem(self.source, None, where, "lunch window ends before it starts")
                )
        problems += self._check_slots()
        if problems:
            raise InputError(problems)

    def _check_slots(self) -> list[Problem]:
        found = []
        last_end = None
        for k, slot in enumerate(self.time_slots):
            where = f"time slot {k}"
            if slot.durations_s.shape != self.durations_s.shape:
                found.append(Problem(self.source, None, where, "matrix shape differs"))
            if slot.distances_m is not None and slot.distances_m.shape != self.durations_s.shape:
                found.append(Problem(self.source, None, where, "distance shape differs"))
            if slot.end_s <= slot.start_s:
                found.append(Problem(self.source, None, where, "ends before it starts"))
            if last_end is not None and slot.start_s < last_end:
                found.append(Problem(self.source, None, where, "overlaps the slot before"))
            last_end = slot.end_s
        return found
