"""Workload of accounts and capacity of reps over a period, plus the travel facts both need.

Workload of an account = visits in the period x (visit duration + the travel one visit costs).
The travel a visit costs is estimated from the road network as the mean road time to the
account's two nearest other accounts: in a route every stop is entered by one leg and left by
another, and good routes use short legs, so the two nearest neighbours are the natural estimate.
It depends only on where the account is, not on who owns it, which keeps a territory's workload
the plain sum of its accounts' (the design then is a linear programme).

Capacity of a rep = working time in the period minus breaks minus days off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from routeplanner.errors import InputError, Problem
from routeplanner.model.account import Account
from routeplanner.model.geo import GeoPoint
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.units import HOUR, Seconds

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

VALUE_BY_CLASS: Mapping[str, float] = {"A": 3.0, "B": 2.0, "C": 1.0}
"""Value/potential points per ``value_class`` (unknown classes count as 1)."""

TRAVEL_NEIGHBOURS = 2
"""Nearest neighbours whose mean road time is the travel estimate of one visit."""

CONTIGUITY_NEIGHBOURS = 8
"""k of the k nearest accounts by road time that are contiguity neighbours (see contiguity);
with a road graph, accounts whose road cells touch are neighbours as well."""


@runtime_checkable
class RoadCells(Protocol):
    """A travel provider that can tell whose road cells touch (``RoadTravel`` can)."""

    def cell_adjacency(self, points: Sequence[GeoPoint]) -> IntArray:
        """``(p, 2)`` pairs of points whose cells on the road network touch."""
        ...


def visits_in(account: Account, horizon_days: int) -> float:
    """Expected visits in the period; fractional because workload is an average."""
    return account.visit_rule.visits_in(horizon_days)


def account_value(account: Account) -> float:
    """Value/potential points of an account from its value class."""
    return VALUE_BY_CLASS.get(account.value_class.strip().upper(), 1.0)


def rep_capacity_s(rep: Rep, horizon_days: int, *, start: date | None = None) -> Seconds:
    """Field time in the period: working intervals minus the lunch break, minus days off.

    Without ``start`` the period is taken as starting on a Monday and days off are not known
    (they are dates), so only the weekly pattern counts; with ``start`` real dates are used.
    Several working intervals on a day already contain their break, so no lunch is taken off.
    """
    total = 0
    for offset in range(horizon_days):
        if start is not None:
            day = start + timedelta(days=offset)
            if day in rep.days_off:
                continue
            weekday = day.weekday()
        else:
            weekday = offset % 7
        windows = rep.working_hours.on(weekday)
        if not windows:
            continue
        worked = sum(w.length_s for w in windows)
        if rep.lunch is not None and len(windows) == 1:
            worked -= rep.lunch.duration_s
        total += max(worked, 0)
    return total


def working_days(rep: Rep, horizon_days: int, *, start: date | None = None) -> int:
    """Number of days with working hours in the period (days off excluded when dated)."""
    days = 0
    for offset in range(horizon_days):
        if start is not None:
            day = start + timedelta(days=offset)
            if day in rep.days_off:
                continue
            weekday = day.weekday()
        else:
            weekday = offset % 7
        if rep.working_hours.on(weekday):
            days += 1
    return days


@dataclass(frozen=True, slots=True, eq=False)
class TerritoryContext:
    """Everything about accounts and reps that does not depend on who owns what.

    Built once per design or realignment: it holds the road-time matrices, so the solver
    iterations and the KPIs never ask the travel provider again. Arrays are indexed by the
    position in ``accounts`` / ``reps``; times are symmetrised (mean of both directions)
    because "how far apart" is what territories are about, not one-way streets.
    """

    accounts: tuple[Account, ...]
    reps: tuple[Rep, ...]
    horizon_days: int
    account_index: Mapping[str, int]
    rep_index: Mapping[str, int]
    visits: FloatArray
    service_s: FloatArray
    travel_estimate_s: FloatArray
    workload_s: FloatArray
    value: FloatArray
    capacity_s: FloatArray
    working_days: IntArray
    account_s: FloatArray
    """``(n, n)`` symmetrised road time between accounts, 0 on the diagonal; ``(0, 0)`` in an
    organisation's context, which holds no all-pairs matrix (see ``organisation``)."""
    home_s: FloatArray
    """``(m, n)`` symmetrised road time between each rep's home and each account."""
    neighbours: IntArray
    """``(n, k)`` each account's contiguity neighbours (see contiguity): its ``k_neighbours``
    nearest other accounts by road time, then, with a road graph, the accounts whose road cells
    touch its own; rows are padded with the row's own index (``neighbour_graph`` drops it)."""
    allowed: BoolArray
    """``(n, m)`` whether rep j carries every qualification account i requires: a hard rule
    every step of design and realignment keeps (the solver never sees a forbidden pair)."""

    @property
    def n_accounts(self) -> int:
        return len(self.accounts)

    @property
    def n_reps(self) -> int:
        return len(self.reps)

    def hours(self, seconds: float) -> float:
        return seconds / HOUR


def build_context(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    *,
    horizon_days: int = 28,
    start: date | None = None,
    k_neighbours: int = CONTIGUITY_NEIGHBOURS,
    road_cells: bool = True,
) -> TerritoryContext:
    """Validate accounts and reps, ask the provider for all travel times once, derive workloads.

    Contiguity neighbours are the ``k_neighbours`` nearest accounts plus, when the provider
    draws road cells (:class:`RoadCells`) and ``road_cells`` is on, the accounts whose cells
    touch (see :mod:`~routeplanner.territories.contiguity`).

    Raises
    ------
    InputError
        Listing every problem: duplicate ids, a rep without a home, accounts or homes that are
        not reachable on the road network, no accounts or no reps.
    """
    allowed = _checked_inputs(accounts, reps, horizon_days)
    _check_reachable(accounts, reps, travel)
    locations = [a.location for a in accounts]
    a_mat = travel.matrix(locations).durations_s.astype(np.float64)
    account_s = (a_mat + a_mat.T) / 2.0
    np.fill_diagonal(account_s, 0.0)
    homes = [r.home for r in reps]
    out = travel.matrix(homes, locations).durations_s.astype(np.float64)
    back = travel.matrix(locations, homes).durations_s.astype(np.float64)
    home_s = (out + back.T) / 2.0

    neighbours, travel_estimate = _neighbours(account_s, home_s, k_neighbours)
    if road_cells and isinstance(travel, RoadCells):
        neighbours = with_pairs(neighbours, travel.cell_adjacency(locations))
    return context_from_times(
        accounts,
        reps,
        horizon_days=horizon_days,
        start=start,
        travel_estimate_s=travel_estimate,
        account_s=account_s,
        home_s=home_s,
        neighbours=neighbours,
        allowed=allowed,
    )


def context_from_times(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    *,
    horizon_days: int,
    start: date | None,
    travel_estimate_s: FloatArray,
    account_s: FloatArray,
    home_s: FloatArray,
    neighbours: IntArray,
    allowed: BoolArray,
) -> TerritoryContext:
    """A context from travel times already measured: visits, workloads, values and capacities
    are derived here so every way of measuring the times derives them alike."""
    visits = np.array([visits_in(a, horizon_days) for a in accounts], dtype=np.float64)
    service = np.array([a.visit_duration_s for a in accounts], dtype=np.float64)
    return TerritoryContext(
        accounts=tuple(accounts),
        reps=tuple(reps),
        horizon_days=horizon_days,
        account_index={a.account_id: i for i, a in enumerate(accounts)},
        rep_index={r.rep_id: j for j, r in enumerate(reps)},
        visits=visits,
        service_s=service,
        travel_estimate_s=travel_estimate_s,
        workload_s=visits * (service + travel_estimate_s),
        value=np.array([account_value(a) for a in accounts], dtype=np.float64),
        capacity_s=np.array(
            [rep_capacity_s(r, horizon_days, start=start) for r in reps], dtype=np.float64
        ),
        working_days=np.array(
            [working_days(r, horizon_days, start=start) for r in reps], dtype=np.int64
        ),
        account_s=account_s,
        home_s=home_s,
        neighbours=neighbours,
        allowed=allowed,
    )


def _neighbours(
    account_s: FloatArray, home_s: FloatArray, k_neighbours: int
) -> tuple[IntArray, FloatArray]:
    """Each account's ``k_neighbours`` nearest accounts by road time, and the travel one visit
    costs (the mean time to its ``TRAVEL_NEIGHBOURS`` nearest)."""
    n = account_s.shape[0]
    k = max(0, min(k_neighbours, n - 1))
    kt = min(TRAVEL_NEIGHBOURS, k)
    masked = account_s + np.diag(np.full(n, np.inf))
    neighbours = np.argsort(masked, axis=1, kind="stable")[:, :k].astype(np.int64)
    if kt == 0:
        # A lone account: its visit is a trip from home and back.
        return neighbours, np.asarray(2.0 * home_s.min(axis=0), dtype=np.float64)
    nearest = neighbours[:, :kt]
    return neighbours, np.take_along_axis(masked, nearest, axis=1).mean(axis=1)


def check_inputs(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    horizon_days: int,
) -> BoolArray:
    """Refuse bad accounts and reps as ``build_context`` does, without any matrix; returns
    who may own what (``qualified``)."""
    allowed = _checked_inputs(accounts, reps, horizon_days)
    _check_reachable(accounts, reps, travel)
    return allowed


def _checked_inputs(
    accounts: Sequence[Account], reps: Sequence[Rep], horizon_days: int
) -> BoolArray:
    """Who may own what (``qualified``), after refusing every problem of the inputs at once."""
    problems: list[Problem] = []
    if horizon_days < 1:
        problems.append(Problem("design", None, "horizon_days", "must be at least 1 day"))
    if not accounts:
        problems.append(Problem("accounts", None, None, "no accounts to divide into territories"))
    if not reps:
        problems.append(Problem("reps", None, None, "no reps to give territories to"))
    _duplicates(problems, "accounts", "account_id", [a.account_id for a in accounts])
    _duplicates(problems, "reps", "rep_id", [r.rep_id for r in reps])
    for rep in reps:
        if getattr(rep, "home", None) is None:
            problems.append(Problem("reps", None, "home", f"rep {rep.rep_id} has no home location"))
    allowed = qualified(accounts, reps)
    if reps:
        problems.extend(
            Problem(
                "accounts",
                None,
                "requires",
                f"account {a.account_id} requires {', '.join(sorted(a.required_qualifications))}"
                " but no rep has all of them",
            )
            for i, a in enumerate(accounts)
            if not allowed[i].any()
        )
    if problems:
        raise InputError(problems)
    return allowed


def _check_reachable(
    accounts: Sequence[Account], reps: Sequence[Rep], travel: TravelTimeProvider
) -> None:
    """Refuse accounts and homes the provider cannot reach, all of them at once."""
    problems: list[Problem] = []
    snaps = travel.snap([(a.account_id, a.location) for a in accounts])
    problems.extend(
        Problem(
            "accounts",
            None,
            "location",
            f"account {s.point_id} is not reachable on the road network "
            f"({s.distance_m:.0f} m from the nearest road)",
        )
        for s in snaps.unreachable
    )
    home_snaps = travel.snap([(r.rep_id, r.home) for r in reps])
    problems.extend(
        Problem(
            "reps",
            None,
            "home",
            f"rep {s.point_id} home is not reachable on the road network "
            f"({s.distance_m:.0f} m from the nearest road)",
        )
        for s in home_snaps.unreachable
    )
    if problems:
        raise InputError(problems)


def with_pairs(neighbours: IntArray, pairs: IntArray) -> IntArray:
    """``(n, k)`` neighbour rows widened by both ends of every pair, padded with the row's index."""
    n = neighbours.shape[0]
    rows = np.concatenate([np.repeat(np.arange(n), neighbours.shape[1]), pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([neighbours.ravel(), pairs[:, 1], pairs[:, 0]])
    key = np.unique(rows * n + cols)
    rows, cols = key // n, key % n
    degree = np.bincount(rows, minlength=n)
    width = int(degree.max(initial=0))
    slot = np.arange(len(rows)) - np.repeat(np.cumsum(degree) - degree, degree)
    out = np.repeat(np.arange(n, dtype=np.int64)[:, None], width, axis=1)
    out[rows, slot] = cols
    return out


def qualified(accounts: Sequence[Account], reps: Sequence[Rep]) -> BoolArray:
    """``(n, m)``: rep j carries every qualification account i requires.

    Compared trimmed and case-folded ("Pharma" = "pharma "), exactly as the assignment rules
    compare them, so design and rules never disagree about who may own an account.
    """
    need = [_folded(a.required_qualifications) for a in accounts]
    have = [_folded(r.qualifications) for r in reps]
    return np.array(
        [[n <= h for h in have] for n in need],
        dtype=np.bool_,
    ).reshape(len(accounts), len(reps))


def _folded(names: frozenset[str]) -> frozenset[str]:
    return frozenset(q.strip().casefold() for q in names)


def _missing(ctx: TerritoryContext, i: int, j: int) -> str:
    """The qualifications rep j lacks for account i, for error messages."""
    have = _folded(ctx.reps[j].qualifications)
    return ", ".join(
        sorted(
            q for q in ctx.accounts[i].required_qualifications if q.strip().casefold() not in have
        )
    )


def _duplicates(problems: list[Problem], source: str, field: str, ids: Sequence[str]) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            problems.append(Problem(source, None, field, f"{field} {value} appears more than once"))
        seen.add(value)


def resolve_locks(
    ctx: TerritoryContext,
    locked: Mapping[str, str],
    locked_territories: Sequence[Territory],
) -> tuple[dict[int, int], frozenset[int]]:
    """Turn locks into account index -> rep index, and the set of reps whose territory is frozen.

    Raises
    ------
    InputError
        For a lock naming an unknown account or rep, an account locked to two reps or to a rep
        lacking a qualification it requires, a locked territory without a rep, and any rep
        whose locked workload exceeds its capacity.
    """
    # An account's own lock (set by a manager on the account) counts like an explicit one; an
    # explicit lock passed in wins, so a "what if" run can override the stored pin.
    stored = {a.account_id: a.locked_rep_id for a in ctx.accounts if a.locked_rep_id}
    problems: list[Problem] = [
        Problem("accounts", None, "locked_rep", f"account {aid} is locked to unknown rep {rid}")
        for aid, rid in stored.items()
        if rid not in ctx.rep_index and aid not in locked
    ]
    explicit = set(locked)
    locks = {**{aid: rid for aid, rid in stored.items() if rid in ctx.rep_index}, **locked}
    fixed: dict[int, int] = {}
    frozen: set[int] = set()
    for t in locked_territories:
        _lock_territory(ctx, t, fixed, frozen, problems)
    for aid, rid in locks.items():
        _lock_account(ctx, aid, rid, aid in explicit, fixed, frozen, problems)
    open_reps = [j for j in range(ctx.n_reps) if j not in frozen]
    problems.extend(
        Problem(
            "accounts",
            None,
            "requires",
            f"account {a.account_id} requires {', '.join(sorted(a.required_qualifications))}"
            " but only reps with a locked territory have all of them",
        )
        for i, a in enumerate(ctx.accounts)
        if i not in fixed and ctx.allowed[i].any() and not ctx.allowed[i, open_reps].any()
    )
    problems.extend(_over_capacity(ctx, fixed))
    if problems:
        raise InputError(problems)
    return fixed, frozenset(frozen)


def _lock_territory(
    ctx: TerritoryContext,
    territory: Territory,
    fixed: dict[int, int],
    frozen: set[int],
    problems: list[Problem],
) -> None:
    """Freeze a locked territory's rep and pin its accounts (in place), noting what is wrong."""
    t = territory
    if t.rep_id is None or t.rep_id not in ctx.rep_index:
        who = "no rep" if t.rep_id is None else f"unknown rep {t.rep_id}"
        message = f"locked territory {t.territory_id} has {who}"
        problems.append(Problem("locked territories", None, "rep_id", message))
        return
    j = ctx.rep_index[t.rep_id]
    frozen.add(j)
    for aid in t.account_ids:
        if aid not in ctx.account_index:
            message = f"locked territory {t.territory_id} lists unknown account {aid}"
            problems.append(Problem("locked territories", None, "account_id", message))
            continue
        i = ctx.account_index[aid]
        if i in fixed and fixed[i] != j:
            message = f"account {aid} is in two locked territories"
            problems.append(Problem("locked territories", None, "account_id", message))
        if not ctx.allowed[i, j]:
            message = (
                f"account {aid} in locked territory {t.territory_id} requires "
                f"{_missing(ctx, i, j)}, which rep {t.rep_id} lacks"
            )
            problems.append(Problem("locked territories", None, "requires", message))
        fixed[i] = j


def _lock_account(
    ctx: TerritoryContext,
    aid: str,
    rid: str,
    explicit: bool,
    fixed: dict[int, int],
    frozen: set[int],
    problems: list[Problem],
) -> None:
    """Pin one account to its rep (in place) unless the lock contradicts itself or the rest."""
    if aid not in ctx.account_index:
        message = f"locked account {aid} is not an account"
        problems.append(Problem("locked", None, "account_id", message))
        return
    if rid not in ctx.rep_index:
        message = f"account {aid} is locked to unknown rep {rid}"
        problems.append(Problem("locked", None, "rep_id", message))
        return
    i, j = ctx.account_index[aid], ctx.rep_index[rid]
    if not ctx.allowed[i, j]:
        message = f"account {aid} is locked to rep {rid}, who lacks {_missing(ctx, i, j)}"
        source = "locked" if explicit else "accounts"
        problems.append(Problem(source, None, "locked_rep", message))
        return
    if i in fixed and fixed[i] != j:
        other = ctx.reps[fixed[i]].rep_id
        message = f"account {aid} is locked to rep {rid} but is in rep {other}'s locked territory"
        problems.append(Problem("locked", None, "rep_id", message))
        return
    if j in frozen and i not in fixed:
        message = f"account {aid} is locked to rep {rid} whose territory is locked without it"
        problems.append(Problem("locked", None, "rep_id", message))
        return
    fixed[i] = j


def _over_capacity(ctx: TerritoryContext, fixed: Mapping[int, int]) -> list[Problem]:
    """Reps whose locked accounts alone need more time than they have."""
    load = np.zeros(ctx.n_reps)
    for i, j in fixed.items():
        load[j] += ctx.workload_s[i]
    return [
        Problem(
            "locked",
            None,
            "rep_id",
            f"rep {rep.rep_id}: locked workload {load[j] / HOUR:.1f} h exceeds capacity "
            f"{ctx.capacity_s[j] / HOUR:.1f} h in {ctx.horizon_days} days",
        )
        for j, rep in enumerate(ctx.reps)
        if load[j] > ctx.capacity_s[j]
    ]
