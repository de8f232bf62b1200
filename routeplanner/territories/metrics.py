"""KPIs of a territory split and the before/after comparison of a realignment.

Balance deviation is relative to capacity: a rep with 4 working days should carry 80 % of what
a 5-day colleague carries. ``balance_dev_pct`` of a territory = its utilisation (workload /
capacity) over the mean utilisation of all unlocked territories, minus 1; with equal capacities
that is exactly "deviation from the mean workload". ``value_dev_pct`` is the same for value
(potential): the territory's share of the unlocked value over its share of the unlocked
capacity, minus 1, so a manager who balances value too sees how far each territory is from
its fair share of it. Drive hours are an estimate: the per-visit
travel inside the territory (see workload) plus one round trip from home per working day
needed, at the territory's mean home-to-account road time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

from routeplanner.model.account import Account
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.territories.bridging import bridged_graph, open_enclaves, restricted_accounts
from routeplanner.territories.contiguity import enclave_accounts, neighbour_graph
from routeplanner.territories.org_graph import organisation_measured
from routeplanner.territories.regions import RegionSettings
from routeplanner.territories.workload import TerritoryContext, build_context
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.units import HOUR

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class TerritoryKpis:
    """One territory's figures over the period; hours are field hours in ``horizon_days``."""

    territory_id: str
    rep_id: str
    accounts: int
    visits_per_week: float
    workload_h: float
    capacity_h: float
    utilisation_pct: float
    drive_h: float
    drive_share_pct: float
    value: float
    balance_dev_pct: float
    mean_travel_to_home_s: float
    enclave_accounts: int
    locked: bool = False
    value_dev_pct: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanKpis:
    """Figures of a whole split; ``compactness_ratio`` is mean travel to home over the optimum.

    ``nearest_home_travel_s`` is the mean travel to home when every account goes to the nearest
    rep home regardless of balance: no split can do better, so the ratio is >= 1.
    """

    territories: tuple[TerritoryKpis, ...]
    horizon_days: int
    accounts: int
    unassigned_accounts: int
    max_workload_dev_pct: float
    mean_travel_to_home_s: float
    nearest_home_travel_s: float
    compactness_ratio: float
    contiguity_violations: int
    total_workload_h: float
    total_capacity_h: float
    mean_travel_to_centre_s: float = 0.0
    """Mean road time from each account to its territory's centre (the member with the least
    total road time to the others): the issue's other compactness measure. NaN for a design
    at organisation scale, which never computes all pairs of road times."""
    max_value_dev_pct: float = 0.0
    """Largest ``|value_dev_pct|`` over unlocked territories (0 when no account has a value)."""
    open_enclave_accounts: int = 0
    """Enclave accounts a design could have avoided: counted with the road neighbours bridged
    across the accounts that need a qualification not every rep holds, which are left out (they
    go to a qualified rep wherever they lie; see :mod:`~.bridging`). The same as
    ``contiguity_violations`` when no account needs one."""

    def max_balance_dev_pct(self, workload: float = 1.0, value: float = 0.0) -> float:
        """Largest deviation of the quantity a design balanced: workload and value mixed.

        The design balances ``workload x (workload share) + value x (value share)`` against
        each rep's capacity share (see ``DesignWeights``); this is that mix's deviation, which
        is what its tolerance promises. Each part's share over the capacity share is one plus
        its deviation, so the mix's deviation is the weighted mean of ``balance_dev_pct`` and
        ``value_dev_pct`` (value counts only when some account has one, as in the design).
        With ``value=0`` it is ``max_workload_dev_pct``.
        """
        free = [t for t in self.territories if not t.locked and t.capacity_h > 0]
        if not any(t.value > 0 for t in free):
            value = 0.0
        if value == 0.0 or workload + value <= 0:
            return self.max_workload_dev_pct
        return max(
            (
                abs(workload * t.balance_dev_pct + value * t.value_dev_pct) / (workload + value)
                for t in free
            ),
            default=0.0,
        )


def assignment_kpis(
    ctx: TerritoryContext,
    assign: IntArray,
    *,
    territory_ids: Sequence[str] | None = None,
    locked_reps: frozenset[int] = frozenset(),
    graph: csr_matrix | None = None,
) -> PlanKpis:
    """KPIs of ``assign`` (rep index per account, ``-1`` = unassigned) on a prepared context.

    ``graph`` is the road-neighbour graph when the caller has it (an organisation's design,
    whose context holds no all-pairs matrix: its mean travel to the centre is then NaN).
    """
    m = ctx.n_reps
    ids = list(territory_ids) if territory_ids is not None else [f"T-{r.rep_id}" for r in ctx.reps]
    has = assign >= 0
    a = assign[has]
    idx = np.nonzero(has)[0]
    workload = np.bincount(a, weights=ctx.workload_s[idx], minlength=m)
    visits = np.bincount(a, weights=ctx.visits[idx], minlength=m)
    value = np.bincount(a, weights=ctx.value[idx], minlength=m)
    count = np.bincount(a, minlength=m)
    free = [j for j in range(m) if j not in locked_reps and ctx.capacity_s[j] > 0]
    value_free = float(value[free].sum())
    cap_free = float(ctx.capacity_s[free].sum())
    travel_in = np.bincount(a, weights=(ctx.visits * ctx.travel_estimate_s)[idx], minlength=m)
    home_t = ctx.home_s[a, idx] if len(idx) else np.zeros(0)
    home_sum = np.bincount(a, weights=home_t, minlength=m)
    mean_util = float(workload[free].sum() / ctx.capacity_s[free].sum()) if free else float("nan")
    if graph is None:
        graph = neighbour_graph(ctx.neighbours, ctx.account_s)
    enclaves = enclave_accounts(graph, np.where(has, assign, m), ctx.workload_s)
    enclaves = enclaves[assign[enclaves] >= 0] if len(enclaves) else enclaves
    enclave_count = np.bincount(assign[enclaves], minlength=m) if len(enclaves) else np.zeros(m)
    restricted = restricted_accounts(ctx.allowed)
    avoidable = len(enclaves)
    if restricted.any():
        # Unassigned accounts count as one more territory, as for the enclaves, and are left out.
        bridged = bridged_graph(graph, restricted)
        labels = np.where(has, assign, m)
        avoidable = open_enclaves(bridged, labels, ctx.workload_s, restricted | ~has)
    rows: list[TerritoryKpis] = []
    for j, rep in enumerate(ctx.reps):
        cap = float(ctx.capacity_s[j])
        util = workload[j] / cap if cap > 0 else float("inf") if workload[j] > 0 else 0.0
        dev = util / mean_util - 1.0 if mean_util and mean_util > 0 else 0.0
        mean_home = home_sum[j] / count[j] if count[j] else 0.0
        value_dev = 0.0
        if j in free and value_free > 0:
            value_dev = (value[j] / value_free) / (cap / cap_free) - 1.0
        days = min(
            int(ctx.working_days[j]),
            math.ceil(visits[j] / max(rep.max_visits_per_day, 1)) if visits[j] > 0 else 0,
        )
        drive = travel_in[j] + days * 2.0 * mean_home
        rows.append(
            TerritoryKpis(
                territory_id=ids[j],
                rep_id=rep.rep_id,
                accounts=int(count[j]),
                visits_per_week=float(visits[j] * 7.0 / ctx.horizon_days),
                workload_h=float(workload[j] / HOUR),
                capacity_h=cap / HOUR,
                utilisation_pct=float(100.0 * util),
                drive_h=float(drive / HOUR),
                drive_share_pct=float(100.0 * drive / workload[j]) if workload[j] > 0 else 0.0,
                value=float(value[j]),
                balance_dev_pct=float(100.0 * dev),
                mean_travel_to_home_s=float(mean_home),
                enclave_accounts=int(enclave_count[j]),
                locked=j in locked_reps,
                value_dev_pct=float(100.0 * value_dev),
            )
        )
    devs = [abs(rows[j].balance_dev_pct) for j in free]
    mean_home_all = float(home_t.mean()) if len(home_t) else 0.0
    nearest = float(ctx.home_s.min(axis=0)[idx].mean()) if len(idx) else 0.0
    to_centre = _travel_to_centres(ctx, idx, a)
    return PlanKpis(
        territories=tuple(rows),
        horizon_days=ctx.horizon_days,
        accounts=int(has.sum()),
        unassigned_accounts=int((~has).sum()),
        max_workload_dev_pct=max(devs, default=0.0),
        mean_travel_to_home_s=mean_home_all,
        nearest_home_travel_s=nearest,
        compactness_ratio=mean_home_all / nearest if nearest > 0 else 1.0,
        contiguity_violations=len(enclaves),
        total_workload_h=float(workload.sum() / HOUR),
        total_capacity_h=float(ctx.capacity_s.sum() / HOUR),
        mean_travel_to_centre_s=to_centre / len(idx) if len(idx) else 0.0,
        max_value_dev_pct=max((abs(rows[j].value_dev_pct) for j in free), default=0.0),
        open_enclave_accounts=avoidable,
    )


def _travel_to_centres(ctx: TerritoryContext, idx: IntArray, a: IntArray) -> float:
    """Total road time from accounts to their territory's medoid (NaN without all pairs)."""
    if ctx.account_s.shape[0] != ctx.n_accounts:
        return math.nan
    total = 0.0
    for j in range(ctx.n_reps):
        members = idx[a == j]
        if len(members):
            sub = ctx.account_s[np.ix_(members, members)]
            total += float(sub.sum(axis=1).min())
    return total


def assignment_of(ctx: TerritoryContext, territories: Sequence[Territory]) -> IntArray:
    """Rep index per account from territories; ``-1`` where no territory of a known rep has it."""
    assign = np.full(ctx.n_accounts, -1, dtype=np.int64)
    for t in territories:
        if t.rep_id is None or t.rep_id not in ctx.rep_index:
            continue
        j = ctx.rep_index[t.rep_id]
        for aid in t.account_ids:
            i = ctx.account_index.get(aid)
            if i is not None:
                assign[i] = j
    return assign


def compute_kpis(
    territories: Sequence[Territory],
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    *,
    horizon_days: int = 28,
    start: date | None = None,
    regions: RegionSettings | None = None,
) -> PlanKpis:
    """KPIs of an existing split (for ``territories show``); asks the provider for travel once.

    At the size where a design goes through regions (``regions``, as given to the design),
    travel and contiguity are measured as that design measures them (:mod:`~.org_graph`),
    without a matrix over all accounts, even when a locked territory or a qualification keeps
    the design itself on the single path: every pair of 20,000 accounts would take minutes and
    gigabytes for one page. Below that size, on all pairs of road times as the single path.
    """
    graph = None
    if (regions or RegionSettings()).applies(len(accounts), len(reps)):
        ctx, graph = organisation_measured(
            accounts, reps, travel, horizon_days=horizon_days, start=start
        )
    else:
        ctx = build_context(accounts, reps, travel, horizon_days=horizon_days, start=start)
    assign = assignment_of(ctx, territories)
    by_rep = {t.rep_id: t for t in territories if t.rep_id is not None}
    ids = [by_rep[r.rep_id].territory_id if r.rep_id in by_rep else f"T-{r.rep_id}" for r in reps]
    locked = frozenset(
        ctx.rep_index[t.rep_id]
        for t in territories
        if t.locked and t.rep_id is not None and t.rep_id in ctx.rep_index
    )
    return assignment_kpis(ctx, assign, territory_ids=ids, locked_reps=locked, graph=graph)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountMove:
    """An account that changes owner; ``from_rep`` is ``None`` for a new or orphaned account."""

    account_id: str
    from_rep: str | None
    to_rep: str
    forced: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class KpiComparison:
    """Before/after of a realignment: both KPI sets, per-rep rows and the moves between them."""

    before: PlanKpis
    after: PlanKpis
    moves: tuple[AccountMove, ...]

    @property
    def moved_accounts(self) -> int:
        """Accounts taken from one rep and given to another (new/orphaned ones not counted)."""
        return sum(1 for mv in self.moves if mv.from_rep is not None and not mv.forced)

    def rows(self) -> list[tuple[str, TerritoryKpis | None, TerritoryKpis | None]]:
        """``(rep_id, before, after)`` for every rep in either split, in ``after`` order."""
        before = {t.rep_id: t for t in self.before.territories}
        after = {t.rep_id: t for t in self.after.territories}
        order = list(after) + [r for r in before if r not in after]
        return [(r, before.get(r), after.get(r)) for r in order]


def compare_kpis(before: PlanKpis, after: PlanKpis, moves: Sequence[AccountMove]) -> KpiComparison:
    """Bundle a before/after pair with its moves for display and export."""
    return KpiComparison(before=before, after=after, moves=tuple(moves))
