"""Decide the territory of each account: lock, else first rule whose target may own it, else
the territory whose workload and travel grow least; report the resulting balance.

Precedence is fixed and shown in every reason: an explicit lock on the account wins, then the
first enabled rule that matches and whose target has a qualified rep, then best fit.
Qualifications are hard at every step: a rule whose target rep lacks one the account requires
is skipped (the reason says so) and best fit never considers such a rep.

Best fit, and why it looks like this: the territory workload model (``territories.workload``)
makes an account's workload independent of its owner (visits x (visit time + travel to its two
nearest neighbours)), so what differs between territories is (1) how far the account lies from
the territory, and (2) whether the territory still has room. (1) is the road time from the
territory's centre (the member nearest its members' mean position) or from the rep's home,
whichever is less, taken from ONE provider matrix call (anchors x accounts, 2 x territories
sources, so 10,000 accounts cost about as much as 100 road searches). (2) compares the
territory's load with its fair share of the batch (water-filling). Which territory serves the
batch best is decided by a transport LP over cells of nearby accounts (least visit-weighted
road time within the shares); each account then goes there if it fits, else to the nearest
territory it fits into (see :func:`_best_fit`). Existing accounts never move in ``new`` mode,
which is why a batch import cannot trigger a realignment (the report suggests one when the
balance drifts).

The per-account travel estimate of the workload model needs every account's two nearest
neighbours by road, an n x n matrix. Up to ``EXACT_NEIGHBOURS_UP_TO`` accounts it is computed
exactly, so balance figures equal those of ``territories show``; 10,000 accounts cannot afford
it, and there it is the straight-line distance to the two nearest accounts (KD-tree) times the
region's road time per straight-line metre, measured on the road matrix above (median).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog
from scipy.sparse import coo_matrix
from scipy.spatial import cKDTree

from routeplanner.assignment.rules import (
    AccountTable,
    AssignmentRule,
    fold,
    match_matrix,
)
from routeplanner.errors import InputError, Problem
from routeplanner.model.account import Account
from routeplanner.model.geo import GeoPoint
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.territories.workload import rep_capacity_s, visits_in
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.units import EARTH_RADIUS_M, HOUR

FloatArray = npt.NDArray[np.float64]
Progress = Callable[[str, float], None]

DEFAULT_TOLERANCE = 0.05
"""Balance band of the territory design (±5 % of each territory's fair share)."""

EXACT_NEIGHBOURS_UP_TO = 2000
"""Up to this many accounts the workload uses road times to the nearest accounts exactly, as
``territories show`` does (an accounts x accounts road matrix, about a second at 2,000);
beyond, the calibrated straight-line estimate."""

_LP_CELLS = 2000
"""Cells of accounts in the pricing LP: enough to price 50 territories, small for HiGHS."""

_MIN_CALIBRATION_M = 300.0
"""Pairs closer than this say more about snapping than about roads; left out of calibration."""


class AssignMode(StrEnum):
    """``new``: decide only accounts in no territory (import); ``all``: re-evaluate every
    account against the rules (dry run of a rule change)."""

    NEW = "new"
    ALL = "all"


class DecisionCause(StrEnum):
    """Why an account lands where it does; the value is stable (stored, sent over the API)."""

    LOCK = "lock"
    RULE = "rule"
    BEST_FIT = "best_fit"
    KEPT = "kept"
    UNASSIGNED = "unassigned"


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """Where one account goes and why; ``territory_id`` is ``None`` when nowhere is allowed."""

    account_id: str
    territory_id: str | None
    rep_id: str | None
    cause: DecisionCause
    reason: str
    rule_id: str | None = None
    previous_territory_id: str | None = None
    previous_rep_id: str | None = None

    @property
    def changed(self) -> bool:
        """Whether applying the decision moves the account (a new account counts as moved)."""
        return self.territory_id is not None and self.territory_id != self.previous_territory_id


@dataclass(frozen=True, slots=True, kw_only=True)
class TerritoryBalance:
    """One territory after the decisions: workload against capacity over the period.

    ``deviation_pct`` is utilisation over the mean utilisation of unlocked territories with a
    rep, minus 1 (the definition of ``territories.metrics``).
    """

    territory_id: str
    rep_id: str | None
    segment: str
    locked: bool
    accounts: int
    added: int
    removed: int
    workload_h: float
    capacity_h: float
    utilisation_pct: float
    deviation_pct: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignmentReport:
    """Decisions for the considered accounts and the balance they lead to."""

    mode: AssignMode
    decisions: tuple[Decision, ...]
    balance: tuple[TerritoryBalance, ...]
    horizon_days: int
    tolerance_pct: float
    max_deviation_pct: float
    travel: str

    @property
    def suggest_realignment(self) -> bool:
        """Some territory drifted beyond the tolerance: a realignment would rebalance it."""
        return self.max_deviation_pct > self.tolerance_pct + 1e-9

    @property
    def changes(self) -> tuple[Decision, ...]:
        """Decisions that move an account (or place a new one)."""
        return tuple(d for d in self.decisions if d.changed)

    @property
    def unassigned(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.territory_id is None)

    def counts(self) -> dict[DecisionCause, int]:
        out = dict.fromkeys(DecisionCause, 0)
        for d in self.decisions:
            out[d.cause] += 1
        return out


@dataclass(slots=True)
class _Pending:
    """An account waiting for best fit among ``candidates`` (territory indices)."""

    index: int
    candidates: list[int]
    cause: DecisionCause
    rule: AssignmentRule | None
    skipped: list[str]


def assign_accounts(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    territories: Sequence[Territory],
    rules: Sequence[AssignmentRule],
    travel: TravelTimeProvider,
    *,
    mode: AssignMode | str = AssignMode.NEW,
    horizon_days: int = 28,
    tolerance: float = DEFAULT_TOLERANCE,
    progress: Progress | None = None,
) -> AssignmentReport:
    """Decide accounts (``new``: those in no territory; ``all``: every one) by lock, rules and
    best fit, without changing anything: the caller stores the report if it wants to.

    Parameters
    ----------
    territories
        The current territories; their accounts are the current owners (first listing wins).
    rules
        Ordered by ``position``; disabled rules are ignored.
    tolerance
        Balance band as a fraction (0.05 = ±5 %); beyond it ``suggest_realignment`` is set.

    Raises
    ------
    InputError
        No territories, an enabled rule targeting a territory or segment that does not exist,
        duplicate account ids, or a bad horizon or tolerance.
    """
    mode = AssignMode(mode)
    report = progress or (lambda _message, _fraction: None)
    rules = sorted(rules, key=lambda r: r.position)
    _check_inputs(accounts, territories, rules, horizon_days, tolerance)
    rep_by_id = {r.rep_id: r for r in reps}
    t_index = {t.territory_id: j for j, t in enumerate(territories)}
    m = len(territories)
    rep_of: list[Rep | None] = [rep_by_id.get(t.rep_id or "") for t in territories]
    quals = [None if r is None else frozenset(fold(q) for q in r.qualifications) for r in rep_of]
    capacity = np.array(
        [0.0 if r is None else float(rep_capacity_s(r, horizon_days)) for r in rep_of]
    )
    account_index = {a.account_id: i for i, a in enumerate(accounts)}
    owner = np.full(len(accounts), -1, dtype=np.int64)
    for j, t in enumerate(territories):
        for aid in t.account_ids:
            i = account_index.get(aid)
            if i is not None and owner[i] < 0:
                owner[i] = j
    decide = (
        np.nonzero(owner < 0)[0] if mode is AssignMode.NEW else np.arange(len(accounts))
    ).astype(np.int64)

    report("matching rules", 0.05)
    chosen = [accounts[int(i)] for i in decide]
    table = AccountTable.of(chosen)
    matches = match_matrix(rules, table)

    report("road times to territories", 0.2)
    anchors = _anchors(accounts, owner, territories, rep_of)
    road = _anchor_travel(travel, [p for p, _ in anchors], [a.location for a in chosen])
    per_m = _seconds_per_metre(road, [p for p, _ in anchors], chosen)
    to_territory = np.full((len(chosen), m), np.inf)
    for k, (_, j) in enumerate(anchors):
        to_territory[:, j] = np.minimum(to_territory[:, j], road[k])

    report("workloads", 0.45)
    workload = estimate_workloads(
        accounts, per_m, horizon_days, travel_s=road_neighbour_travel(accounts, travel)
    )
    visits = np.array([visits_in(a, horizon_days) for a in accounts], dtype=np.float64)

    report("deciding", 0.55)
    decisions: dict[int, Decision] = {}
    pending: list[_Pending] = []
    load = np.zeros(m)
    if mode is AssignMode.NEW:
        has = owner >= 0
        load += np.bincount(owner[has], weights=workload[has], minlength=m)
    unlocked_free = [j for j in range(m) if rep_of[j] is not None and not territories[j].locked]
    default_pool = [j for j in unlocked_free if not territories[j].segment] or unlocked_free
    default_pool = default_pool or [j for j in range(m) if rep_of[j] is not None]

    def previous(i: int) -> tuple[str | None, str | None]:
        j = int(owner[i])
        return (None, None) if j < 0 else (territories[j].territory_id, territories[j].rep_id)

    def decide_now(
        row: int, j: int | None, cause: DecisionCause, reason: str, rule_id: str | None = None
    ) -> None:
        i = int(decide[row])
        prev_t, prev_r = previous(i)
        decisions[row] = Decision(
            account_id=accounts[i].account_id,
            territory_id=None if j is None else territories[j].territory_id,
            rep_id=None if j is None else territories[j].rep_id,
            cause=cause,
            reason=reason,
            rule_id=rule_id,
            previous_territory_id=prev_t,
            previous_rep_id=prev_r,
        )
        if j is not None:
            load[j] += workload[i]

    def allowed(j: int, need: frozenset[str]) -> bool:
        q = quals[j]
        return q is not None and need <= q

    for row, i_row in enumerate(decide):
        i = int(i_row)
        account = accounts[i]
        need = table.requires[row]
        if account.locked_rep_id:
            _decide_lock(row, i, account, need, territories, owner, quals, decide_now)
            continue
        skipped: list[str] = []
        placed = False
        for hit in np.nonzero(matches[row])[0]:
            rule = rules[int(hit)]
            if rule.territory_id is not None:
                j = t_index[rule.territory_id]
                if allowed(j, need):
                    decide_now(
                        row, j, DecisionCause.RULE, rule.reason + _skips(skipped), rule.rule_id
                    )
                    placed = True
                    break
                skipped.append(_why_not(rule, [j], territories, need, quals))
                continue
            pool = [j for j, t in enumerate(territories) if t.segment == rule.segment]
            ok = [j for j in pool if allowed(j, need)]
            if not ok:
                skipped.append(_why_not(rule, pool, territories, need, quals))
                continue
            j_prev = int(owner[i])
            if j_prev in ok:
                decide_now(
                    row, j_prev, DecisionCause.RULE, rule.reason + _skips(skipped), rule.rule_id
                )
            else:
                pending.append(_Pending(row, ok, DecisionCause.RULE, rule, skipped))
            placed = True
            break
        if placed:
            continue
        j_prev = int(owner[i])
        if j_prev >= 0 and (rep_of[j_prev] is None or allowed(j_prev, need)):
            decide_now(
                row,
                j_prev,
                DecisionCause.KEPT,
                f"no rule applies; stays in territory {territories[j_prev].territory_id}"
                + _skips(skipped),
            )
            continue
        ok = [j for j in default_pool if allowed(j, need)]
        ok = ok or [j for j in range(m) if allowed(j, need)]
        if not ok:
            wanted = ", ".join(sorted(account.required_qualifications))
            why = (
                f"no territory's rep has the required qualification {wanted}"
                if wanted
                else "no territory has a rep"
            )
            decide_now(row, None, DecisionCause.UNASSIGNED, why + _skips(skipped))
            continue
        pending.append(_Pending(row, ok, DecisionCause.BEST_FIT, None, skipped))

    report("best fit", 0.75)
    xy = _project(table.lat, table.lon, float(table.lat.mean()) if len(table) else 0.0)
    _best_fit(pending, decide, to_territory, workload, visits, load, capacity, xy, decide_now)

    report("balance", 0.95)
    final = owner.copy() if mode is AssignMode.NEW else np.full(len(accounts), -1, dtype=np.int64)
    for row, d in decisions.items():
        if d.territory_id is not None:
            final[decide[row]] = t_index[d.territory_id]
        elif mode is AssignMode.ALL:
            final[decide[row]] = owner[decide[row]]
    balance, worst = _balance(territories, rep_of, owner, final, workload, capacity)
    report("done", 1.0)
    return AssignmentReport(
        mode=mode,
        decisions=tuple(decisions[row] for row in range(len(decide))),
        balance=balance,
        horizon_days=horizon_days,
        tolerance_pct=100.0 * tolerance,
        max_deviation_pct=worst,
        travel=travel.name,
    )


def _check_inputs(
    accounts: Sequence[Account],
    territories: Sequence[Territory],
    rules: Sequence[AssignmentRule],
    horizon_days: int,
    tolerance: float,
) -> None:
    problems: list[Problem] = []
    if horizon_days < 1:
        problems.append(Problem("assignment", None, "horizon_days", "must be at least 1 day"))
    if not 0.0 <= tolerance < 1.0:
        problems.append(Problem("assignment", None, "tolerance", "must be between 0 and 1"))
    if not territories:
        msg = "no territories to assign accounts to: design territories first"
        problems.append(Problem("territories", None, None, msg))
    seen: set[str] = set()
    for a in accounts:
        if a.account_id in seen:
            msg = f"account_id {a.account_id} appears more than once"
            problems.append(Problem("accounts", None, "account_id", msg))
        seen.add(a.account_id)
    ids = {t.territory_id for t in territories}
    segments = {t.segment for t in territories if t.segment}
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.territory_id is not None and rule.territory_id not in ids:
            msg = f"rule {rule.rule_id}: territory {rule.territory_id} does not exist"
            problems.append(Problem("rules", rule.position, "territory", msg))
        if rule.segment is not None and rule.segment not in segments:
            msg = f"rule {rule.rule_id}: no territory belongs to segment {rule.segment}"
            problems.append(Problem("rules", rule.position, "segment", msg))
    if problems:
        raise InputError(problems)


def _skips(skipped: Sequence[str]) -> str:
    return f" ({'; '.join(skipped)})" if skipped else ""


def _missing(need: frozenset[str], have: frozenset[str] | None) -> str:
    return ", ".join(sorted(need - (have or frozenset())))


def _why_not(
    rule: AssignmentRule,
    pool: Sequence[int],
    territories: Sequence[Territory],
    need: frozenset[str],
    quals: Sequence[frozenset[str] | None],
) -> str:
    """Why a matching rule could not take the account: its target has no qualified rep."""
    if rule.territory_id is not None:
        t = territories[pool[0]]
        if quals[pool[0]] is None:
            why = f"territory {t.territory_id} has no rep"
        else:
            why = f"rep {t.rep_id} lacks qualification {_missing(need, quals[pool[0]])}"
    else:
        why = f"no rep in segment {rule.segment} has qualification {', '.join(sorted(need))}"
    return f"rule {rule.rule_id} skipped: {why}"


def _decide_lock(
    row: int,
    i: int,
    account: Account,
    need: frozenset[str],
    territories: Sequence[Territory],
    owner: npt.NDArray[np.int64],
    quals: Sequence[frozenset[str] | None],
    decide_now: Callable[..., None],
) -> None:
    """A locked account goes to its rep's territory (the current one if the rep owns several).

    A lock the rep cannot honour (no territory, missing qualification) leaves the account
    unassigned with the reason, rather than quietly overriding the manager's pin.
    """
    rep_id = account.locked_rep_id
    own = [j for j, t in enumerate(territories) if t.rep_id == rep_id]
    if not own:
        decide_now(
            row, None, DecisionCause.UNASSIGNED, f"locked to rep {rep_id}, who has no territory"
        )
        return
    j = int(owner[i]) if int(owner[i]) in own else own[0]
    q = quals[j]
    if q is not None and not need <= q:
        decide_now(
            row,
            None,
            DecisionCause.UNASSIGNED,
            f"locked to rep {rep_id}, who lacks qualification {_missing(need, q)}",
        )
        return
    decide_now(row, j, DecisionCause.LOCK, f"locked to rep {rep_id}")


def _best_fit(
    pending: Sequence[_Pending],
    decide: npt.NDArray[np.int64],
    to_territory: FloatArray,
    workload: FloatArray,
    visits: FloatArray,
    load: FloatArray,
    capacity: FloatArray,
    xy: FloatArray,
    decide_now: Callable[..., None],
) -> None:
    """Give each pending account the territory where it costs least, within fair shares.

    Which territory is "best" for the batch as a whole comes from a small transport LP over
    cells of nearby accounts (:func:`_lp_preference`): least visit-weighted road time with no
    territory above its fair share (:func:`_fair_shares`), so a crowded territory's capacity
    goes to the accounts that would travel farthest without it, not to whichever comes
    first. Decisions are then made account by account, in order of regret (how much farther
    the second-nearest territory is): the LP's territory if the account fits into it, else
    the nearest territory it fits into. Two passes, because accounts are indivisible: the
    first places an account only where it fits *whole*, so no territory passes its share and
    the shares add up exactly; the few left over then go where they fit by at least half,
    else to the least loaded territory.
    """
    if not pending:
        return
    rows = np.array([p.index for p in pending], dtype=np.int64)
    w = workload[decide[rows]]
    limit = _fair_shares(pending, w, load, capacity) + 1e-6
    allowed = np.zeros((len(pending), len(load)), dtype=np.bool_)
    for k, p in enumerate(pending):
        allowed[k, p.candidates] = True
    travel = np.where(allowed, to_territory[rows], np.inf)
    preferred = _lp_preference(allowed, travel, w, visits[decide[rows]], load, limit, xy[rows])
    two = np.sort(travel, axis=1)[:, :2] if travel.shape[1] > 1 else np.hstack([travel, travel])
    with np.errstate(invalid="ignore"):
        regret = np.where(np.isfinite(two[:, 1]), two[:, 1] - two[:, 0], np.inf)
    order = np.lexsort((rows, -regret))
    left: list[int] = []
    for fits in (1.0, 0.5):
        for k in order if fits == 1.0 else left:
            p = pending[int(k)]
            cand = np.array(p.candidates, dtype=np.int64)
            weight = float(w[int(k)])
            room = load[cand] + fits * weight <= limit[cand]
            of = f" of segment {p.rule.segment}" if p.rule is not None else ""
            if room.any():
                near = cand[room]
                j = int(near[np.argmin(travel[k, near])])
                nearest = j
                if preferred[k] >= 0 and preferred[k] in near:
                    j = int(preferred[k])
                if j == nearest:
                    text = f"nearest territory{of} with spare capacity"
                else:
                    minutes = travel[k, j] / 60.0
                    text = (
                        f"territory{of} with spare capacity {minutes:.0f} min away "
                        "(nearer capacity goes to accounts closer to it)"
                    )
            elif fits == 1.0:
                left.append(int(k))
                continue
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    after = np.where(
                        capacity[cand] > 0, (load[cand] + weight) / capacity[cand], np.inf
                    )
                j = int(cand[np.argmin(after)]) if np.isfinite(after).any() else int(cand[0])
                text = f"least loaded territory{of} (none has spare capacity)"
            if p.rule is not None:
                reason = f"{p.rule.reason}; {text}"
                decide_now(p.index, j, p.cause, reason + _skips(p.skipped), p.rule.rule_id)
            else:
                decide_now(p.index, j, p.cause, text + _skips(p.skipped))


def _lp_preference(
    allowed: npt.NDArray[np.bool_],
    travel: FloatArray,
    w: FloatArray,
    visits: FloatArray,
    load: FloatArray,
    limit: FloatArray,
    xy: FloatArray,
) -> npt.NDArray[np.int64]:
    """The territory the batch-wide optimum gives each account (``-1``: no preference).

    The transport LP "every account to one allowed territory, no territory above its fair
    share, least road time per period (visits x road time from the territory)" is solved on
    cells of nearby accounts with the same allowed territories (about ``_LP_CELLS`` of them,
    so 10,000 accounts x 50 territories is a 100,000-variable LP for HiGHS instead of
    500,000). Visits weight the time because a weekly account far from home costs four trips a
    month where a monthly one costs one. A cell split between territories is
    split among its accounts by their road times (each account where it is nearest, within
    the cell's quota). Its duals are not used: with every share tight they are degenerate,
    and account-level prices taken from them swing far from the optimum.
    """
    n, m = allowed.shape
    preferred = np.full(n, -1, dtype=np.int64)
    if n < 2 or m < 2:
        return preferred
    low = xy.min(axis=0)
    span = np.maximum(xy.max(axis=0) - low, 1.0)
    size = max(float(np.sqrt(span[0] * span[1] / _LP_CELLS)), 1.0)
    _, pattern = np.unique(allowed, axis=0, return_inverse=True)
    # Accounts cluster in towns, so most cells of an even grid are empty: refine the grid
    # until enough cells hold accounts for the LP to tell neighbourhoods apart.
    for _ in range(8):
        grid = np.floor((xy - low) / size).astype(np.int64)
        keys = np.column_stack([grid, pattern.reshape(-1)])
        _, first, cell = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        if len(first) >= min(_LP_CELLS, n) / 2 or size <= 1.0:
            break
        size = max(size / 1.5, 1.0)
    cell = cell.reshape(-1)
    cells = len(first)
    weight = np.bincount(cell, weights=w, minlength=cells)
    finite = np.where(allowed, travel, 0.0)
    cost = np.column_stack(
        [np.bincount(cell, weights=visits * finite[:, j], minlength=cells) for j in range(m)]
    )
    ok = allowed[first]
    c_idx, j_idx = np.nonzero(ok)
    nv = len(c_idx)
    biggest = float(np.max(finite)) * max(float(visits.max()), 1.0) if finite.size else 1.0
    penalty = 10.0 * max(biggest, 1.0) / max(float(w[w > 0].min()) if (w > 0).any() else 1.0, 1e-9)
    objective = np.concatenate([cost[c_idx, j_idx], np.full(m, penalty)])
    a_eq = coo_matrix((np.ones(nv), (c_idx, np.arange(nv))), shape=(cells, nv + m))
    a_ub = coo_matrix(
        (
            np.concatenate([weight[c_idx], -np.ones(m)]),
            (np.concatenate([j_idx, np.arange(m)]), np.arange(nv + m)),
        ),
        shape=(m, nv + m),
    )
    room = np.maximum(limit - load, 0.0)
    try:
        result = linprog(
            objective,
            A_ub=a_ub.tocsr(),
            b_ub=room,
            A_eq=a_eq.tocsr(),
            b_eq=np.ones(cells),
            bounds=(0, None),
            method="highs",
        )
    except ValueError:  # pragma: no cover - malformed LP would be our bug; fall back
        return preferred
    if result.status != 0 or result.x is None:
        return preferred
    share = np.asarray(result.x[:nv], dtype=np.float64)
    members = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[members], np.arange(cells + 1))
    by_cell: dict[int, list[tuple[int, float]]] = {}
    for v in np.nonzero(share > 1e-9)[0]:
        by_cell.setdefault(int(c_idx[v]), []).append((int(j_idx[v]), float(share[v])))
    for c, parts in by_cell.items():
        who = members[bounds[c] : bounds[c + 1]]
        if len(parts) == 1:
            preferred[who] = parts[0][0]
            continue
        quota = {j: round(y * len(who)) for j, y in parts}
        pairs = sorted((travel[i, j], int(i), j) for i in who for j, _ in parts)
        for _, i, j in pairs:
            if preferred[i] < 0 and quota[j] > 0:
                preferred[i] = j
                quota[j] -= 1
    return preferred


def _fair_shares(
    pending: Sequence[_Pending], w: FloatArray, load: FloatArray, capacity: FloatArray
) -> FloatArray:
    """Each territory's fair share of the batch, by water-filling per pool of candidates.

    Accounts waiting for the same kind of best fit (a segment, or no segment) compete for the
    same territories; those territories' loads plus the pool's workloads are spread so that
    every territory below the common utilisation level is raised to it, and territories
    already above it (rules or locks put more there) get nothing more. A single level over
    all territories would instead leave room in the others that nothing fills, and the
    territories farthest from the accounts would end up short.
    """
    limit = capacity * 0.0
    groups: dict[str, list[int]] = {}
    for k, p in enumerate(pending):
        key = "" if p.rule is None else f"segment:{p.rule.segment}"
        groups.setdefault(key, []).append(k)
    for members in groups.values():
        pool = np.array(sorted({j for k in members for j in pending[k].candidates}), np.int64)
        total = float(load[pool].sum()) + float(w[members].sum())
        level = _water_level(load[pool], capacity[pool], total)
        limit[pool] = np.maximum(limit[pool], capacity[pool] * level)
    return limit


def _water_level(load: FloatArray, capacity: FloatArray, total: float) -> float:
    """The utilisation U with sum(max(load, capacity x U)) = total (0 without capacity)."""
    has = capacity > 0
    if not has.any():
        return 0.0
    load, capacity = load[has], capacity[has]
    ratio = load / capacity
    order = np.argsort(ratio, kind="stable")
    for k in range(len(order), 0, -1):
        below, rest = order[:k], order[k:]
        level = (total - float(load[rest].sum())) / float(capacity[below].sum())
        if level >= ratio[order[k - 1]] - 1e-12:
            return max(level, 0.0)
    return 0.0


def _balance(
    territories: Sequence[Territory],
    rep_of: Sequence[Rep | None],
    before: npt.NDArray[np.int64],
    after: npt.NDArray[np.int64],
    workload: FloatArray,
    capacity: FloatArray,
) -> tuple[tuple[TerritoryBalance, ...], float]:
    m = len(territories)
    has = after >= 0
    load = np.bincount(after[has], weights=workload[has], minlength=m)
    count = np.bincount(after[has], minlength=m)
    moved = before != after
    added = np.bincount(after[has & moved], minlength=m)
    gone = before >= 0
    removed = np.bincount(before[gone & moved], minlength=m)
    free = [
        j
        for j in range(m)
        if rep_of[j] is not None and not territories[j].locked and capacity[j] > 0
    ]
    mean_util = float(load[free].sum() / capacity[free].sum()) if free else 0.0
    rows: list[TerritoryBalance] = []
    worst = 0.0
    for j, t in enumerate(territories):
        cap = float(capacity[j])
        util = load[j] / cap if cap > 0 else 0.0
        dev = util / mean_util - 1.0 if mean_util > 0 and cap > 0 else 0.0
        if j in free:
            worst = max(worst, abs(100.0 * dev))
        rows.append(
            TerritoryBalance(
                territory_id=t.territory_id,
                rep_id=t.rep_id,
                segment=t.segment,
                locked=t.locked,
                accounts=int(count[j]),
                added=int(added[j]),
                removed=int(removed[j]),
                workload_h=float(load[j] / HOUR),
                capacity_h=cap / HOUR,
                utilisation_pct=float(100.0 * util),
                deviation_pct=float(100.0 * dev),
            )
        )
    return tuple(rows), worst


# ---------------------------------------------------------------------- travel facts


def _project(lat: FloatArray, lon: FloatArray, lat0: float) -> FloatArray:
    """Equirectangular metres around ``lat0``: exact enough for a sales region's distances."""
    k = np.pi / 180.0 * EARTH_RADIUS_M
    return np.column_stack([lon * k * np.cos(np.radians(lat0)), lat * k])


def _anchors(
    accounts: Sequence[Account],
    owner: npt.NDArray[np.int64],
    territories: Sequence[Territory],
    rep_of: Sequence[Rep | None],
) -> list[tuple[GeoPoint, int]]:
    """Points each territory is measured from: its centre member and its rep's home."""
    anchors: list[tuple[GeoPoint, int]] = []
    lat = np.array([a.location.lat for a in accounts], dtype=np.float64)
    lon = np.array([a.location.lon for a in accounts], dtype=np.float64)
    lat0 = float(lat.mean()) if len(lat) else 0.0
    xy = _project(lat, lon, lat0)
    for j in range(len(territories)):
        members = np.nonzero(owner == j)[0]
        if len(members):
            mean = xy[members].mean(axis=0)
            centre = members[np.argmin(((xy[members] - mean) ** 2).sum(axis=1))]
            anchors.append((accounts[int(centre)].location, j))
        rep = rep_of[j]
        if rep is not None:
            anchors.append((rep.home, j))
    return anchors


def _anchor_travel(
    travel: TravelTimeProvider, anchors: Sequence[GeoPoint], points: Sequence[GeoPoint]
) -> FloatArray:
    """Road seconds anchor -> point in one matrix call; points or anchors off the network get
    the straight-line estimate instead (they are reported by planning, not refused here)."""
    out = np.zeros((len(anchors), len(points)))
    if not anchors or not points:
        return out
    a_ok = np.array(
        [s.reachable for s in travel.snap([(str(k), p) for k, p in enumerate(anchors)]).snaps]
    )
    p_ok = np.array(
        [s.reachable for s in travel.snap([(str(k), p) for k, p in enumerate(points)]).snaps]
    )
    fallback = HaversineTravel()
    if not a_ok.all() or not p_ok.all():
        out[:] = fallback.matrix(anchors, points).durations_s
    ai, pi = np.nonzero(a_ok)[0], np.nonzero(p_ok)[0]
    if len(ai) and len(pi):
        sub = travel.matrix([anchors[int(k)] for k in ai], [points[int(k)] for k in pi]).durations_s
        out[np.ix_(ai, pi)] = sub
    return out


def _seconds_per_metre(
    road: FloatArray, anchors: Sequence[GeoPoint], accounts: Sequence[Account]
) -> float:
    """Median road seconds per straight-line metre in the region (calibrates the estimate)."""
    fallback = HaversineTravel()
    default = fallback.detour_factor / (fallback.speed_kmh / 3.6)
    if road.size == 0:
        return default
    straight = (
        HaversineTravel(speed_kmh=3.6, detour_factor=1.0)
        .matrix(list(anchors), [a.location for a in accounts])
        .distances_m.astype(np.float64)
    )
    use = straight > _MIN_CALIBRATION_M
    if not use.any():
        return default
    return float(np.median(road[use] / straight[use]))


def estimate_workloads(
    accounts: Sequence[Account],
    per_m: float,
    horizon_days: int,
    *,
    travel_s: FloatArray | None = None,
) -> FloatArray:
    """Visits x (visit time + travel estimate).

    The estimate is ``travel_s`` where given (NaN = unknown), else the mean straight-line
    distance to the two nearest other accounts at the region's road seconds per metre.
    """
    n = len(accounts)
    if n == 0:
        return np.zeros(0)
    lat = np.array([a.location.lat for a in accounts], dtype=np.float64)
    lon = np.array([a.location.lon for a in accounts], dtype=np.float64)
    xy = _project(lat, lon, float(lat.mean()))
    k = min(2, n - 1)
    if k > 0:
        dist, _ = cKDTree(xy).query(xy, k=k + 1)
        estimate = np.asarray(dist, dtype=np.float64)[:, 1:].mean(axis=1) * per_m
    else:
        estimate = np.zeros(n)
    if travel_s is not None:
        estimate = np.where(np.isnan(travel_s), estimate, travel_s)
    visits = np.array([visits_in(a, horizon_days) for a in accounts], dtype=np.float64)
    service = np.array([a.visit_duration_s for a in accounts], dtype=np.float64)
    out: FloatArray = visits * (service + estimate)
    return out


def road_neighbour_travel(
    accounts: Sequence[Account], travel: TravelTimeProvider
) -> FloatArray | None:
    """The workload model's exact travel estimate (mean road time to the two nearest other
    accounts, symmetrised, as ``territories.workload.build_context`` computes it) while an
    accounts x accounts matrix is affordable (``EXACT_NEIGHBOURS_UP_TO``); NaN for accounts
    off the network; ``None`` above the limit or below three reachable accounts.
    """
    n = len(accounts)
    if n > EXACT_NEIGHBOURS_UP_TO:
        return None
    snaps = travel.snap([(a.account_id, a.location) for a in accounts]).snaps
    ok = np.array([s.reachable for s in snaps], dtype=np.bool_)
    idx = np.nonzero(ok)[0]
    if len(idx) < 3:
        return None
    mat = travel.matrix([accounts[int(i)].location for i in idx]).durations_s.astype(np.float64)
    sym = (mat + mat.T) / 2.0
    np.fill_diagonal(sym, np.inf)
    two = np.partition(sym, 1, axis=1)[:, :2]
    out = np.full(n, np.nan)
    out[idx] = two.mean(axis=1)
    return out
