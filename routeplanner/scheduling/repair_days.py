"""The rep's days after the frozen ones while a repair works on them: insert, eject, re-order.

Every day keeps the order of its visits; a visit is inserted where it adds the least driving
and only where the day, timed in that order, still holds every visit (opening hours, lunch,
shift end, maximum visits and drive). A day nothing happened to keeps its previous route
object, so the plan and the calendars see no change there at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from routeplanner.model import Account, DayRoute, Rep, Unassigned, UnassignedReason
from routeplanner.scheduling.calendar import visit_windows
from routeplanner.scheduling.day_router import DayJob, DayResult, fixed_order_day_router
from routeplanner.travel.provider import TravelTimeProvider

IMPROVE_MIN_SAVING_S = 300
"""A visit is re-ordered for travel only when that saves at least five minutes of driving:
a rep re-reading a changed day is worth more than a few minutes."""


@dataclass(frozen=True, slots=True)
class Insertion:
    """Where a visit goes on a day, and the driving it adds there."""

    day: date
    position: int
    added_drive_s: int


@dataclass(slots=True)
class _Day:
    visits: list[Account]
    route: DayRoute | None
    touched: bool = False


class _Matrix:
    """One travel matrix over the rep's home and every account the repair may touch."""

    def __init__(self, rep: Rep, accounts: Sequence[Account], travel: TravelTimeProvider) -> None:
        self.index = {a.account_id: i for i, a in enumerate(accounts, start=1)}
        found = travel.matrix([rep.home] + [a.location for a in accounts])
        self.durations, self.distances = found.durations_s, found.distances_m

    def job(self, rep: Rep, day: date, visits: Sequence[Account]) -> DayJob:
        rows = np.array([0] + [self.index[a.account_id] for a in visits])
        pick = np.ix_(rows, rows)
        return DayJob(
            rep=rep,
            day=day,
            visits=tuple(visits),
            durations_s=self.durations[pick],
            distances_m=self.distances[pick],
        )


@dataclass(slots=True)
class FutureDays:
    """The repairable days (after the frozen ones): their visits in order, what is open.

    ``available`` are the days the rep can work; days of ``routes`` that are not available
    any more must be emptied by the caller (:meth:`clear`).
    """

    rep: Rep
    travel: TravelTimeProvider
    available: frozenset[date]
    days: dict[date, _Day] = field(default_factory=dict)
    _matrix: _Matrix | None = None
    _known: dict[str, Account] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        rep: Rep,
        travel: TravelTimeProvider,
        routes: Iterable[DayRoute],
        accounts: Mapping[str, Account],
        available: Iterable[date],
    ) -> FutureDays:
        """The days of ``routes`` (the previous plan after the frozen days) and the other
        available days, empty; stops of accounts not in ``accounts`` stay where they are."""
        days = frozenset(available)
        state = cls(rep=rep, travel=travel, available=days)
        for route in routes:
            visits = [accounts[s.account_id] for s in route.stops if s.account_id in accounts]
            state.days[route.day] = _Day(visits=visits, route=route)
        for d in days:
            state.days.setdefault(d, _Day(visits=[], route=None))
        state._known = {a.account_id: a for day in state.days.values() for a in day.visits}
        return state

    def prepare(self, extra: Sequence[Account]) -> list[Account]:
        """Compute the travel times among the planned visits and ``extra``; returns those of
        ``extra`` that are off the road network (they cannot be placed)."""
        snaps = self.travel.snap([(a.account_id, a.location) for a in extra]).snaps
        off = [a for a, snap in zip(extra, snaps, strict=True) if not snap.reachable]
        self._known.update((a.account_id, a) for a in extra if a not in off)
        self._matrix = _Matrix(self.rep, self._all_accounts(), self.travel)
        return off

    # -- reading ----------------------------------------------------------------------------

    def visits_on(self, day: date) -> list[Account]:
        found = self.days.get(day)
        return list(found.visits) if found is not None else []

    def days_of(self, account_id: str) -> list[date]:
        return sorted(
            d for d, s in self.days.items() if any(a.account_id == account_id for a in s.visits)
        )

    def routes(self) -> tuple[list[DayRoute], list[Unassigned]]:
        """Every day with visits: the previous route where untouched, else timed anew in its
        order; and visits a changed day no longer holds (only a day that lost visits without
        a check can: taking visits out of a timed order never makes it longer)."""
        out: list[DayRoute] = []
        dropped: list[Unassigned] = []
        for day in sorted(self.days):
            state = self.days[day]
            if not state.touched:
                if state.route is not None:
                    out.append(state.route)
                continue
            if state.visits:
                result = self._time(day, state.visits)
                out.append(result.route)
                dropped.extend(result.unassigned)
        return out, dropped

    # -- changing ---------------------------------------------------------------------------

    def clear(self, day: date) -> list[Account]:
        """Empty a day (the rep cannot work then); returns its visits."""
        state = self.days.get(day)
        if state is None:
            return []
        gone = state.visits
        self.days[day] = _Day(visits=[], route=None, touched=True)
        return gone

    def remove(self, account_id: str, day: date) -> None:
        state = self.days[day]
        state.visits = [a for a in state.visits if a.account_id != account_id]
        state.touched = True

    def insert(self, account: Account, at: Insertion) -> None:
        state = self.days[at.day]
        state.visits.insert(at.position, account)
        state.touched = True
        self._known.setdefault(account.account_id, account)

    # -- searching --------------------------------------------------------------------------

    def can_visit(self, account: Account, day: date) -> bool:
        """The rep works that day, the account is open for the visit, and not visited yet."""
        return (
            day in self.available
            and bool(visit_windows(account, self.rep, day))
            and all(a.account_id != account.account_id for a in self.visits_on(day))
        )

    def best_insertion(
        self, account: Account, day: date, *, without: str | None = None
    ) -> Insertion | UnassignedReason:
        """The cheapest position on ``day`` (after removing ``without``) that keeps every
        visit of the day, or why none does (the day's first failure)."""
        base = [a for a in self.visits_on(day) if a.account_id != without]
        if len(base) >= self.rep.max_visits_per_day:
            return UnassignedReason.DAY_FULL_VISITS
        before = self._drive(day, base)
        if before is None:
            return UnassignedReason.DAY_FULL_TIME
        best: Insertion | None = None
        failure = UnassignedReason.DAY_FULL_TIME
        for position in range(len(base) + 1):
            result = self._time(day, [*base[:position], account, *base[position:]])
            if result.unassigned:
                failure = result.unassigned[0].reason
                continue
            added = result.route.travel_s - before
            if best is None or added < best.added_drive_s:
                best = Insertion(day=day, position=position, added_drive_s=added)
        return best if best is not None else failure

    def improve_order(
        self, day: date, fixed: set[str], *, apply: bool
    ) -> tuple[Account, int] | None:
        """The single visit (not in ``fixed``) whose move to another position of ``day``
        saves the most driving, at least :data:`IMPROVE_MIN_SAVING_S`, and the seconds saved
        (``None``: no such move); with ``apply`` the move is made."""
        visits = self.visits_on(day)
        before = self._drive(day, visits)
        if before is None or len(visits) < 3:
            return None
        best: tuple[int, list[Account], Account] | None = None
        for i, moving in enumerate(visits):
            if moving.account_id in fixed:
                continue
            rest = visits[:i] + visits[i + 1 :]
            for j in range(len(visits)):
                if j == i:
                    continue
                order = [*rest[:j], moving, *rest[j:]]
                result = self._time(day, order)
                saved = before - result.route.travel_s
                if result.unassigned or saved < IMPROVE_MIN_SAVING_S:
                    continue
                if best is None or saved > best[0]:
                    best = (saved, order, moving)
        if best is None:
            return None
        if apply:
            state = self.days[day]
            state.visits, state.touched = best[1], True
        return best[2], best[0]

    # -- timing -----------------------------------------------------------------------------

    def _time(self, day: date, visits: Sequence[Account]) -> DayResult:
        if self._matrix is None:
            self._matrix = _Matrix(self.rep, self._all_accounts(), self.travel)
        missing = [a for a in visits if a.account_id not in self._matrix.index]
        if missing:
            self._known.update((a.account_id, a) for a in missing)
            self._matrix = _Matrix(self.rep, self._all_accounts(), self.travel)
        return fixed_order_day_router(self._matrix.job(self.rep, day, visits))

    def _all_accounts(self) -> list[Account]:
        return [self._known[k] for k in sorted(self._known)]

    def _drive(self, day: date, visits: Sequence[Account]) -> int | None:
        """Driving of ``visits`` on ``day`` in that order; ``None`` if the order does not
        hold them all (the day cannot take more then)."""
        if not visits:
            return 0
        result = self._time(day, visits)
        return None if result.unassigned else result.route.travel_s
