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
whichever is less, taken from one provider matrix call (anchors x accounts: 2 x territories
sources, so the cost grows with territories, not with accounts squared). (2) compares the
territory's load with its fair share of the batch (water-filling). Which territory serves the
batch best is decided by a transport LP over cells of nearby accounts (least visit-weighted
road time within the shares); each account then goes there if it fits, else to the nearest
territory it fits into (see :func:`_best_fit`). Existing accounts never move in ``new`` mode,
which is why a batch import cannot trigger a realignment (the report suggests one when the
balance drifts).

The travel facts (road times from territories, workload estimates) come from
:mod:`routeplanner.assignment.estimates`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from routeplanner.assignment.estimates import (
    FloatArray,
    anchor_travel,
    estimate_workloads,
    project,
    road_neighbour_travel,
    seconds_per_metre,
    territory_anchors,
)
from routeplanner.assignment.rules import (
    AccountTable,
    AssignmentRule,
    fold,
    match_matrix,
)
from routeplanner.errors import InputError, Problem
from routeplanner.model.account import Account
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.territories.workload import rep_capacity_s, visits_in
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.units import HOUR

Progress = Callable[[str, float], None]

DEFAULT_TOLERANCE = 0.05
"""Balance band of the territory design (±5 % of each territory's fair share)."""

_LP_CELLS = 2000
"""Cells of accounts in the pricing LP: enough to price 50 territories, small for HiGHS."""


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
    region = _Region.of(accounts, reps, territories, mode, horizon_days)

    report("matching rules", 0.05)
    chosen = [accounts[int(i)] for i in region.decide]
    table = AccountTable.of(chosen)
    matches = match_matrix(rules, table)

    report("road times to territories", 0.2)
    to_territory, per_m = _territory_travel(region, chosen, travel)

    report("workloads", 0.45)
    workload = estimate_workloads(
        accounts, per_m, horizon_days, travel_s=road_neighbour_travel(accounts, travel)
    )
    visits = np.array([visits_in(a, horizon_days) for a in accounts], dtype=np.float64)

    report("deciding", 0.55)
    state = _Decisions.start(region, workload, mode)
    pending: list[_Pending] = []
    for row in range(len(region.decide)):
        waiting = _decide_account(state, row, table.requires[row], matches[row], rules)
        if waiting is not None:
            pending.append(waiting)

    report("best fit", 0.75)
    xy = project(table.lat, table.lon, float(table.lat.mean()) if len(table) else 0.0)
    _best_fit(
        pending,
        region.decide,
        to_territory,
        workload,
        visits,
        state.load,
        region.capacity,
        xy,
        state.decide_now,
    )

    report("balance", 0.95)
    balance, worst = _final_balance(state, mode)
    report("done", 1.0)
    return AssignmentReport(
        mode=mode,
        decisions=tuple(state.decisions[row] for row in range(len(region.decide))),
        balance=balance,
        horizon_days=horizon_days,
        tolerance_pct=100.0 * tolerance,
        max_deviation_pct=worst,
        travel=travel.name,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Region:
    """Territories, their reps, and which accounts they own now and which are being decided.

    ``owner[i]`` is the index of account ``i``'s current territory (``-1``: none);
    ``decide[row]`` is the account index of each decision row.
    """

    accounts: Sequence[Account]
    territories: Sequence[Territory]
    t_index: dict[str, int]
    rep_of: list[Rep | None]
    quals: list[frozenset[str] | None]
    capacity: FloatArray
    owner: npt.NDArray[np.int64]
    decide: npt.NDArray[np.int64]

    @staticmethod
    def of(
        accounts: Sequence[Account],
        reps: Sequence[Rep],
        territories: Sequence[Territory],
        mode: AssignMode,
        horizon_days: int,
    ) -> _Region:
        rep_by_id = {r.rep_id: r for r in reps}
        rep_of = [rep_by_id.get(t.rep_id or "") for t in territories]
        account_index = {a.account_id: i for i, a in enumerate(accounts)}
        owner = np.full(len(accounts), -1, dtype=np.int64)
        for j, t in enumerate(territories):
            for aid in t.account_ids:
                i = account_index.get(aid)
                if i is not None and owner[i] < 0:
                    owner[i] = j
        decide = np.nonzero(owner < 0)[0] if mode is AssignMode.NEW else np.arange(len(accounts))
        return _Region(
            accounts=accounts,
            territories=territories,
            t_index={t.territory_id: j for j, t in enumerate(territories)},
            rep_of=rep_of,
            quals=[
                None if r is None else frozenset(fold(q) for q in r.qualifications) for r in rep_of
            ],
            capacity=np.array(
                [0.0 if r is None else float(rep_capacity_s(r, horizon_days)) for r in rep_of]
            ),
            owner=owner,
            decide=decide.astype(np.int64),
        )

    def allowed(self, j: int, need: frozenset[str]) -> bool:
        """Whether territory ``j`` has a rep with every qualification in ``need``."""
        q = self.quals[j]
        return q is not None and need <= q


@dataclass(slots=True)
class _Decisions:
    """Decisions by row so far, and the workload they put on each territory."""

    region: _Region
    workload: FloatArray
    load: FloatArray
    default_pool: list[int]
    decisions: dict[int, Decision] = field(default_factory=dict)

    @staticmethod
    def start(region: _Region, workload: FloatArray, mode: AssignMode) -> _Decisions:
        """In ``new`` mode territories start with their current accounts' workload."""
        m = len(region.territories)
        load = np.zeros(m)
        if mode is AssignMode.NEW:
            has = region.owner >= 0
            load += np.bincount(region.owner[has], weights=workload[has], minlength=m)
        # Best fit without a rule prefers unlocked territories outside any segment.
        with_rep = [j for j in range(m) if region.rep_of[j] is not None]
        unlocked = [j for j in with_rep if not region.territories[j].locked]
        pool = [j for j in unlocked if not region.territories[j].segment] or unlocked
        return _Decisions(region, workload, load, pool or with_rep)

    def decide_now(
        self, row: int, j: int | None, cause: DecisionCause, reason: str, rule_id: str | None = None
    ) -> None:
        region = self.region
        i = int(region.decide[row])
        j_prev = int(region.owner[i])
        previous = None if j_prev < 0 else region.territories[j_prev]
        self.decisions[row] = Decision(
            account_id=region.accounts[i].account_id,
            territory_id=None if j is None else region.territories[j].territory_id,
            rep_id=None if j is None else region.territories[j].rep_id,
            cause=cause,
            reason=reason,
            rule_id=rule_id,
            previous_territory_id=None if previous is None else previous.territory_id,
            previous_rep_id=None if previous is None else previous.rep_id,
        )
        if j is not None:
            self.load[j] += self.workload[i]


def _decide_account(
    state: _Decisions,
    row: int,
    need: frozenset[str],
    hits: npt.NDArray[np.bool_],
    rules: Sequence[AssignmentRule],
) -> _Pending | None:
    """Decide one row by lock, first usable rule, or keeping its territory; else it waits for
    best fit (returned)."""
    region = state.region
    i = int(region.decide[row])
    account = region.accounts[i]
    if account.locked_rep_id:
        _decide_lock(
            row, i, account, need, region.territories, region.owner, region.quals, state.decide_now
        )
        return None
    skipped: list[str] = []
    j_prev = int(region.owner[i])
    for hit in np.nonzero(hits)[0]:
        rule = rules[int(hit)]
        ok = _rule_targets(region, rule, need, skipped)
        if not ok:
            continue
        if rule.territory_id is None and j_prev not in ok:
            return _Pending(row, ok, DecisionCause.RULE, rule, skipped)
        j = ok[0] if rule.territory_id is not None else j_prev
        state.decide_now(row, j, DecisionCause.RULE, rule.reason + _skips(skipped), rule.rule_id)
        return None
    if j_prev >= 0 and (region.rep_of[j_prev] is None or region.allowed(j_prev, need)):
        stays = f"no rule applies; stays in territory {region.territories[j_prev].territory_id}"
        state.decide_now(row, j_prev, DecisionCause.KEPT, stays + _skips(skipped))
        return None
    ok = [j for j in state.default_pool if region.allowed(j, need)]
    ok = ok or [j for j in range(len(region.territories)) if region.allowed(j, need)]
    if not ok:
        wanted = ", ".join(sorted(account.required_qualifications))
        why = (
            f"no territory's rep has the required qualification {wanted}"
            if wanted
            else "no territory has a rep"
        )
        state.decide_now(row, None, DecisionCause.UNASSIGNED, why + _skips(skipped))
        return None
    return _Pending(row, ok, DecisionCause.BEST_FIT, None, skipped)


def _rule_targets(
    region: _Region, rule: AssignmentRule, need: frozenset[str], skipped: list[str]
) -> list[int]:
    """The rule's territories whose rep is qualified; none adds why to ``skipped``."""
    if rule.territory_id is not None:
        pool = [region.t_index[rule.territory_id]]
    else:
        pool = [j for j, t in enumerate(region.territories) if t.segment == rule.segment]
    ok = [j for j in pool if region.allowed(j, need)]
    if not ok:
        skipped.append(_why_not(rule, pool, region.territories, need, region.quals))
    return ok


def _territory_travel(
    region: _Region, chosen: Sequence[Account], travel: TravelTimeProvider
) -> tuple[FloatArray, float]:
    """Road seconds from each territory (its nearer anchor) to each chosen account, and the
    region's road seconds per straight-line metre."""
    anchors = territory_anchors(region.accounts, region.owner, region.territories, region.rep_of)
    road = anchor_travel(travel, [p for p, _ in anchors], [a.location for a in chosen])
    per_m = seconds_per_metre(road, [p for p, _ in anchors], chosen)
    to_territory = np.full((len(chosen), len(region.territories)), np.inf)
    for k, (_, j) in enumerate(anchors):
        to_territory[:, j] = np.minimum(to_territory[:, j], road[k])
    return to_territory, per_m


def _final_balance(
    state: _Decisions, mode: AssignMode
) -> tuple[tuple[TerritoryBalance, ...], float]:
    """Balance after the decisions; in ``all`` mode an account left unassigned counts where it
    is now."""
    region = state.region
    owner = region.owner
    final = owner.copy() if mode is AssignMode.NEW else np.full(len(owner), -1, dtype=np.int64)
    for row, d in state.decisions.items():
        if d.territory_id is not None:
            final[region.decide[row]] = region.t_index[d.territory_id]
        elif mode is AssignMode.ALL:
            final[region.decide[row]] = owner[region.decide[row]]
    return _balance(
        region.territories, region.rep_of, owner, final, state.workload, region.capacity
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
                j, text = _with_room(cand[room], travel[k], int(preferred[k]), of)
            elif fits == 1.0:
                left.append(int(k))
                continue
            else:
                j = _least_loaded(cand, load, capacity, weight)
                text = f"least loaded territory{of} (none has spare capacity)"
            reason = text if p.rule is None else f"{p.rule.reason}; {text}"
            rule_id = None if p.rule is None else p.rule.rule_id
            decide_now(p.index, j, p.cause, reason + _skips(p.skipped), rule_id)


def _with_room(
    near: npt.NDArray[np.int64], travel: FloatArray, preferred: int, of: str
) -> tuple[int, str]:
    """The LP's territory when it has room, else the nearest with room; and the reason."""
    nearest = int(near[np.argmin(travel[near])])
    if preferred < 0 or preferred not in near or preferred == nearest:
        return nearest, f"nearest territory{of} with spare capacity"
    minutes = travel[preferred] / 60.0
    return preferred, (
        f"territory{of} with spare capacity {minutes:.0f} min away "
        "(nearer capacity goes to accounts closer to it)"
    )


def _least_loaded(
    cand: npt.NDArray[np.int64], load: FloatArray, capacity: FloatArray, weight: float
) -> int:
    """The candidate least utilised after taking the account (the first if none has capacity)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        after = np.where(capacity[cand] > 0, (load[cand] + weight) / capacity[cand], np.inf)
    return int(cand[np.argmin(after)]) if np.isfinite(after).any() else int(cand[0])


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
    cells of nearby accounts with the same allowed territories (about ``_LP_CELLS`` of them),
    so the LP stays small for HiGHS however many accounts arrive. Visits weight the time because
    a weekly account far from home costs four trips a month where a monthly one costs one. A
    cell split between territories is split among its accounts by their road times (each
    account where it is nearest, within the cell's quota). Its duals are not used: with every
    share tight they are degenerate, and account-level prices taken from them swing far from
    the optimum.
    """
    n, m = allowed.shape
    if n < 2 or m < 2:
        return np.full(n, -1, dtype=np.int64)
    cell, first = _lp_cells(allowed, xy)
    cells = len(first)
    weight = np.bincount(cell, weights=w, minlength=cells)
    finite = np.where(allowed, travel, 0.0)
    cost = np.column_stack(
        [np.bincount(cell, weights=visits * finite[:, j], minlength=cells) for j in range(m)]
    )
    c_idx, j_idx = np.nonzero(allowed[first])
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
        return np.full(n, -1, dtype=np.int64)
    if result.status != 0 or result.x is None:
        return np.full(n, -1, dtype=np.int64)
    share = np.asarray(result.x[:nv], dtype=np.float64)
    by_cell: dict[int, list[tuple[int, float]]] = {}
    for v in np.nonzero(share > 1e-9)[0]:
        by_cell.setdefault(int(c_idx[v]), []).append((int(j_idx[v]), float(share[v])))
    return _split_cells(cell, cells, by_cell, travel)


def _lp_cells(
    allowed: npt.NDArray[np.bool_], xy: FloatArray
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each account's cell (grid square x allowed territories), and one member of each cell."""
    n = len(allowed)
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
    return cell.reshape(-1), first


def _split_cells(
    cell: npt.NDArray[np.int64],
    cells: int,
    by_cell: dict[int, list[tuple[int, float]]],
    travel: FloatArray,
) -> npt.NDArray[np.int64]:
    """Hand each cell's LP shares to its accounts, nearest first within each share's quota."""
    preferred = np.full(len(cell), -1, dtype=np.int64)
    members = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[members], np.arange(cells + 1))
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
