"""Balanced assignment of accounts to reps as a mixed-integer programme (HiGHS via scipy).

Why a MIP and why scipy: giving every account to exactly one rep while keeping each rep's
workload inside a band is a generalised assignment problem. Its LP relaxation is almost integral
(a basic solution splits at most one account per active balance row), so HiGHS closes it in a
few branch-and-bound nodes even for 2,000 x 10 binaries. ``scipy.optimize.milp`` ships HiGHS
with scipy, which we already depend on, so the territory code needs no second OR-Tools adapter
(only ``routing/ortools_vrptw.py`` may import ortools). A min-cost flow cannot express it exactly:
accounts carry different workloads, and flow would split them.

Balance bands are met when possible; when locks or a move limit make them unreachable, the
smallest total miss is found first and the cheapest split with that miss second (lexicographic,
not a big-M penalty, which swamps the solver's tolerances). The miss is returned per rep.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, csr_matrix, vstack

from routeplanner.errors import InternalError
from routeplanner.territories.deadline import Deadline

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class OutOfTimeError(Exception):
    """A solve ended at its time limit before finding any solution."""


MILP_TIME_LIMIT = 1
"""``scipy.optimize.milp`` status for "iteration or time limit reached"."""


@dataclass(frozen=True, slots=True)
class AssignResult:
    """Rep index per account, how the solver ended, and the balance band misses per rep."""

    assign: IntArray
    optimal: bool
    mip_gap: float
    slack: FloatArray
    status: str


MIP_GAP = 1e-3
"""Relative gap at which a balanced MIP counts as solved: travel times are estimates, so the
last 0.1 % is noise."""
EXACT_GAP = 1e-6
"""Gap of the small MIP over the LP's split accounts: they are few, so optimal is cheap."""
MUST_SOLVE_S = 1.0
"""Least time an LP gets once the deadline has passed: without its answer there is no split."""
MUST_SHARE = 0.25
"""Share of what is left of the job an LP without which there is no split may take beyond the
per-solve cap: a large LP on a busy machine needs more than the cap, and the phases after it
can do without a quarter of the time better than without a split."""


def solve_assignment(
    cost: FloatArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    *,
    fixed: Mapping[int, int] | None = None,
    current: IntArray | None = None,
    max_moves: int | None = None,
    move_penalty: float = 0.0,
    time_limit_s: float = 20.0,
    mip_rel_gap: float = MIP_GAP,
    allowed: npt.NDArray[np.bool_] | None = None,
    deadline: Deadline | None = None,
) -> AssignResult:
    """Minimise assignment cost subject to one rep per account and soft balance bands.

    Solved as the LP relaxation first. A basic LP optimum splits only a handful of accounts
    (at most one per binding balance or move row); those are re-decided by a tiny exact MIP with
    every other account kept where the LP put it. If that meets the band the LP met, the result
    is within ``(value - LP value) / LP value`` of optimal, which is reported as ``mip_gap``;
    otherwise the full MIP is solved to ``mip_rel_gap``.

    Parameters
    ----------
    cost
        ``(n, m)`` cost of giving account i to rep j (travel seconds, possibly smoothed).
    balance
        ``(n,)`` the balanced quantity of each account (workload seconds or a weighted mix).
    lower, upper
        ``(m,)`` band for each rep's sum of ``balance``, including fixed accounts.
    fixed
        account index -> rep index, assigned before solving (locks).
    current
        ``(n,)`` current rep index per account, ``-1`` where there is none (new or orphaned);
        with ``max_moves`` or ``move_penalty`` it limits or prices changes. Fixed accounts are
        not counted against ``max_moves``: the caller accounts for them.
    time_limit_s, deadline
        Limit of each HiGHS call, and of all of them together when a deadline is given.
    allowed
        ``(n, m)`` pairs that may be chosen at all (qualifications); the others are fixed to
        0 as variable bounds, so no rounding or repair of the LP can pick them.

    Raises
    ------
    InternalError
        When HiGHS returns no solution at all (the relaxed model is always feasible, so this
        means a time limit hit before the first incumbent).
    """
    fixed = dict(fixed or {})
    n = cost.shape[0]
    if len(fixed) == n:
        assign = np.full(n, -1, dtype=np.int64)
        for i, j in fixed.items():
            assign[i] = j
        slack = _band_misses(assign, balance, lower, upper)
        return AssignResult(assign, True, 0.0, slack, "all accounts fixed")
    solver = _Solver.scaled(
        cost,
        balance,
        lower,
        upper,
        current=current,
        max_moves=max_moves,
        move_penalty=move_penalty,
        allowed=allowed,
        time_limit_s=time_limit_s,
        mip_rel_gap=mip_rel_gap,
        deadline=deadline or Deadline.after(math.inf),
    )
    try:
        lp = solver.relaxation(fixed)
    except OutOfTimeError:
        return greedy_assignment(
            cost, balance, lower, upper, fixed=fixed, allowed=allowed, current=current
        )
    found = lp.judge(lp.assign, f"LP optimum rounded ({len(lp.split_rows)} split)", strict=True)
    if found is None:
        found = solver.split_accounts_exactly(fixed, lp)
    if found is None:
        found = solver.full_mip(fixed, lp)
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class _Relaxation:
    """The LP optimum a balanced solve starts from, and how integer splits are judged by it."""

    model: _Model
    cap: float | None
    assign: IntArray
    value: float
    slack: float
    split_rows: IntArray
    solver: _Solver

    def judge(self, assign: IntArray, how: str, *, strict: bool) -> AssignResult | None:
        """The result for an integer split; with ``strict`` None unless it misses the band no
        more than the LP did and keeps the move cap."""
        s = self.solver
        slack = _band_misses(assign, s.balance, s.lower, s.upper)
        too_far = float(slack.sum()) > self.slack + 1e-9 * max(1.0, float(s.balance.sum()))
        limit = s.max_moves if s.max_moves is not None else len(assign)
        if strict and (too_far or count_moves(assign, s.current) > limit):
            return None
        value = self.model.objective(assign)
        gap = max((value - self.value) / abs(self.value), 0.0) if self.value else 0.0
        optimal = gap <= s.mip_rel_gap and not too_far
        return AssignResult(assign, optimal, gap, slack * s.b_scale, how)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Solver:
    """One balanced solve's data scaled to O(1), and its limits.

    Workload shares of 1e-4 next to costs of 1e3 leave HiGHS's absolute tolerances far too
    coarse (reduced costs came back wrong by a third of the cost range), hence the scaling.
    """

    cost: FloatArray
    balance: FloatArray
    lower: FloatArray
    upper: FloatArray
    b_scale: float
    current: IntArray | None
    max_moves: int | None
    move_penalty: float
    allowed: npt.NDArray[np.bool_] | None
    time_limit_s: float
    mip_rel_gap: float
    deadline: Deadline

    @classmethod
    def scaled(
        cls,
        cost: FloatArray,
        balance: FloatArray,
        lower: FloatArray,
        upper: FloatArray,
        **options: Any,
    ) -> _Solver:
        b_scale = float(np.mean(np.abs(balance))) or 1.0
        c_scale = float(np.mean(np.abs(cost))) or 1.0
        options["move_penalty"] = options["move_penalty"] / c_scale
        return cls(
            cost=cost / c_scale,
            balance=balance / b_scale,
            lower=lower / b_scale,
            upper=upper / b_scale,
            b_scale=b_scale,
            **options,
        )

    def build(self, pins: Mapping[int, int], cap: float | None) -> _Model:
        return _build(
            self.cost,
            self.balance,
            self.lower,
            self.upper,
            pins,
            self.current,
            self.max_moves,
            self.move_penalty,
            cap,
            self.allowed,
        )

    def run(
        self, model: _Model, *, integral: bool, must: bool = False, gap: float | None = None
    ) -> tuple[IntArray, FloatArray, float] | None:
        limit = self.deadline.limit(self.time_limit_s, floor=MUST_SOLVE_S if must else 0.0)
        if must:
            limit = max(limit, MUST_SHARE * self.deadline.remaining())
        rel_gap = self.mip_rel_gap if gap is None else gap
        return _run(model, integral=integral, time_limit_s=limit, mip_rel_gap=rel_gap)

    def least_miss(
        self, model: _Model, fixed: Mapping[int, int], *, integral: bool
    ) -> tuple[float, IntArray]:
        """The smallest total band miss any split reaches (a little widened, as the next
        solve's cap), and a split with it.

        Lexicographic (the miss first, then the cheapest split with it) because one objective
        with a big penalty on the miss swamps HiGHS's tolerances and comes back suboptimal.
        """
        miss = self.run(self.build(fixed, -1.0), integral=integral, must=True)
        if miss is None:
            msg = (
                "assignment MIP returned no solution"
                if integral
                else "assignment LP found no solution even with the balance band relaxed"
            )
            raise InternalError(msg)
        return float(miss[1][model.nx :].sum()) * (1 + 1e-6) + 1e-9, miss[0]

    def relaxation(self, fixed: Mapping[int, int]) -> _Relaxation:
        """The LP optimum inside the band, or with the least miss when the band is out of reach.

        Raises ``OutOfTimeError`` when an LP ends at its time limit without a solution: that
        says nothing about the band, so the caller degrades instead of relaxing it.
        """
        cap: float | None = None
        model = self.build(fixed, cap)
        lp = self.run(model, integral=False, must=True)
        if lp is None:
            cap, _ = self.least_miss(model, fixed, integral=False)
            model = self.build(fixed, cap)
            lp = self.run(model, integral=False, must=True)
            if lp is None:
                msg = "assignment LP returned no solution"
                raise InternalError(msg)
        assign, x, value = lp
        shares = x[: model.nx].reshape(len(model.free), model.m)
        return _Relaxation(
            model=model,
            cap=cap,
            assign=assign,
            value=value,
            slack=float(x[model.nx :].sum()),
            split_rows=np.nonzero(shares.max(axis=1) < 1.0 - 1e-6)[0],
            solver=self,
        )

    def split_accounts_exactly(
        self, fixed: Mapping[int, int], lp: _Relaxation
    ) -> AssignResult | None:
        """Re-decide only the accounts the LP split, every other one where the LP put it."""
        pinned = dict(fixed)
        keep = np.ones(len(lp.model.free), dtype=bool)
        keep[lp.split_rows] = False
        for k in np.nonzero(keep)[0]:
            pinned[int(lp.model.free[k])] = int(lp.assign[lp.model.free[k]])
        small_model = self.build(pinned, lp.cap)
        if not len(small_model.free):
            return None
        try:
            small = self.run(small_model, integral=True, gap=EXACT_GAP)
        except OutOfTimeError:
            return None
        if small is None:
            return None
        how = f"LP optimum, {len(lp.split_rows)} split accounts solved exactly"
        return lp.judge(small[0], how, strict=True)

    def full_mip(self, fixed: Mapping[int, int], lp: _Relaxation) -> AssignResult:
        """The whole MIP; when no integer split meets the LP's band, the smallest miss first."""
        try:
            full = self.run(lp.model, integral=True)
        except OutOfTimeError:
            found = lp.judge(lp.assign, "LP optimum rounded (MIP out of time)", strict=False)
            assert found is not None
            return found
        if full is not None:
            found = lp.judge(full[0], "full MIP", strict=False)
            assert found is not None
            return found
        cap, miss = self.least_miss(lp.model, fixed, integral=True)
        relaxed = self.run(self.build(fixed, cap), integral=True)
        chosen = relaxed[0] if relaxed is not None else miss
        found = lp.judge(chosen, "full MIP, band relaxed", strict=False)
        assert found is not None
        return found


@dataclass(frozen=True, slots=True)
class _Model:
    c: FloatArray
    c_x: FloatArray
    constraint: LinearConstraint
    bounds: Bounds
    nx: int
    m: int
    free: IntArray
    base: IntArray
    fixed_cost: float

    def objective(self, assign: IntArray) -> float:
        """Travel (+ move) cost of a full assignment, comparable with the LP value."""
        sub = assign[self.free]
        return float(self.c_x[np.arange(len(sub)), sub].sum()) + self.fixed_cost


def _build(
    cost: FloatArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    fixed: Mapping[int, int],
    current: IntArray | None,
    max_moves: int | None,
    move_penalty: float,
    cap: float | None,
    allowed: npt.NDArray[np.bool_] | None = None,
) -> _Model:
    """The assignment model; ``cap``: None = hard band, < 0 = minimise the miss only,
    >= 0 = minimise cost with the total miss at most ``cap``."""
    n, m = cost.shape
    fixed_load = np.zeros(m)
    base = np.full(n, -1, dtype=np.int64)
    for i, j in fixed.items():
        fixed_load[j] += balance[i]
        base[i] = j
    free = np.array([i for i in range(n) if i not in fixed], dtype=np.int64)
    nf = len(free)
    penalty = np.zeros((n, m))
    if current is not None and move_penalty > 0:
        has = current >= 0
        penalty[has] = move_penalty
        penalty[np.nonzero(has)[0], current[has]] = 0.0
    full_cost = cost.astype(np.float64) + penalty
    c_x = full_cost[free]
    fixed_cost = float(sum(full_cost[i, j] for i, j in fixed.items()))
    nx = nf * m
    nvar = nx + 2 * m
    if cap is not None and cap < 0:
        c = np.concatenate([np.zeros(nx), np.ones(2 * m)])
    else:
        c = np.concatenate([c_x.ravel(), np.zeros(2 * m)])
    rows: list[csr_matrix] = []
    lbs: list[FloatArray] = []
    ubs: list[FloatArray] = []
    # Each free account on exactly one rep.
    r = np.repeat(np.arange(nf), m)
    rows.append(coo_matrix((np.ones(nx), (r, np.arange(nx))), shape=(nf, nvar)).tocsr())
    lbs.append(np.ones(nf))
    ubs.append(np.ones(nf))
    # Per rep: sum(balance x) + under_j >= lower - fixed; sum(balance x) - over_j <= upper - fixed.
    cols = np.arange(nx)
    vals = balance[free][cols // m]
    reps = np.arange(m)
    bal_rows = np.concatenate([cols % m, reps])
    rows.append(
        coo_matrix(
            (np.concatenate([vals, np.ones(m)]), (bal_rows, np.concatenate([cols, nx + reps]))),
            shape=(m, nvar),
        ).tocsr()
    )
    lbs.append(lower - fixed_load)
    ubs.append(np.full(m, np.inf))
    rows.append(
        coo_matrix(
            (
                np.concatenate([vals, -np.ones(m)]),
                (bal_rows, np.concatenate([cols, nx + m + reps])),
            ),
            shape=(m, nvar),
        ).tocsr()
    )
    lbs.append(np.full(m, -np.inf))
    ubs.append(upper - fixed_load)
    if cap is not None and cap >= 0:
        rows.append(
            coo_matrix(
                (np.ones(2 * m), (np.zeros(2 * m, dtype=np.int64), nx + np.arange(2 * m))),
                shape=(1, nvar),
            ).tocsr()
        )
        lbs.append(np.array([-np.inf]))
        ubs.append(np.array([cap]))
    if current is not None and max_moves is not None:
        cur = current[free]
        keep_cols = np.array([k * m + int(cur[k]) for k in range(nf) if cur[k] >= 0], dtype=int)
        fixed_moves = sum(1 for i, j in fixed.items() if current[i] >= 0 and current[i] != j)
        n_existing = len(keep_cols)
        # moves among free accounts = n_existing - sum(x[i, current(i)])
        rows.append(
            coo_matrix(
                (np.ones(n_existing), (np.zeros(n_existing, dtype=np.int64), keep_cols)),
                shape=(1, nvar),
            ).tocsr()
        )
        lbs.append(np.array([float(n_existing - max(max_moves - fixed_moves, 0))]))
        ubs.append(np.array([np.inf]))
    slack_ub = np.zeros(2 * m) if cap is None else np.full(2 * m, np.inf)
    x_ub = np.ones(nx) if allowed is None else allowed[free].astype(np.float64).ravel()
    bounds = Bounds(np.zeros(nvar), np.concatenate([x_ub, slack_ub]))
    constraint = LinearConstraint(vstack(rows).tocsr(), np.concatenate(lbs), np.concatenate(ubs))
    return _Model(c, c_x, constraint, bounds, nx, m, free, base, fixed_cost)


def _run(
    model: _Model, *, integral: bool, time_limit_s: float, mip_rel_gap: float
) -> tuple[IntArray, FloatArray, float] | None:
    """Solve the LP or MIP; the argmax-rounded assignment, raw x and cost, or None if infeasible."""
    nvar = len(model.c)
    integrality = (
        np.concatenate([np.ones(model.nx), np.zeros(2 * model.m)]) if integral else np.zeros(nvar)
    )
    res = milp(
        model.c,
        constraints=model.constraint,
        integrality=integrality,
        bounds=model.bounds,
        options={"time_limit": time_limit_s, "mip_rel_gap": mip_rel_gap, "disp": False},
    )
    if res.x is None and res.status == MILP_TIME_LIMIT:
        raise OutOfTimeError
    if res.x is None:
        return None
    x = np.asarray(res.x, dtype=np.float64)
    assign = model.base.copy()
    if len(model.free):
        assign[model.free] = np.argmax(x[: model.nx].reshape(len(model.free), model.m), axis=1)
    return assign, x, model.objective(assign) if integral else float(res.fun) + model.fixed_cost


GREEDY = "greedy split (the LP ran out of time)"


def greedy_assignment(
    cost: FloatArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    *,
    fixed: Mapping[int, int],
    allowed: npt.NDArray[np.bool_] | None = None,
    current: IntArray | None = None,
) -> AssignResult:
    """A balanced split without a solver, for when the LP cannot finish in time.

    Accounts are placed in order of regret (how much more their second-cheapest rep costs
    than their cheapest), each with the cheapest allowed rep that stays under its upper bound,
    or the one with the most room left; the later phases then polish it as any split. Accounts
    with a ``current`` rep stay with it, so a realignment's move cap holds.
    """
    n, m = cost.shape
    assign = np.full(n, -1, dtype=np.int64)
    load = np.zeros(m)
    if current is not None:
        assign[current >= 0] = current[current >= 0]
        load += np.bincount(current[current >= 0], weights=balance[current >= 0], minlength=m)
    for i, j in fixed.items():
        if assign[i] >= 0:
            load[assign[i]] -= balance[i]
        assign[i] = j
        load[j] += balance[i]
    priced = np.where(allowed, cost, np.inf) if allowed is not None else cost.astype(np.float64)
    ranked = np.argsort(priced, axis=1, kind="stable")
    two = np.take_along_axis(priced, ranked[:, : min(2, m)], axis=1)
    regret = two[:, -1] - two[:, 0] if m > 1 else np.zeros(n)
    regret = np.where(np.isfinite(regret), regret, np.inf)  # one allowed rep: place it first
    for i in np.argsort(-regret, kind="stable"):
        if assign[i] >= 0:
            continue
        choices = [int(j) for j in ranked[i] if np.isfinite(priced[i, j])]
        fits = [j for j in choices if load[j] + balance[i] <= upper[j]]
        j = fits[0] if fits else max(choices, key=lambda r: upper[r] - load[r])
        assign[i] = j
        load[j] += balance[i]
    slack = _band_misses(assign, balance, lower, upper)
    return AssignResult(assign, False, math.inf, slack, GREEDY)


def count_moves(assign: IntArray, current: IntArray | None) -> int:
    """Accounts with a current rep that end up with another one (over all accounts)."""
    if current is None:
        return 0
    return int(np.sum((current >= 0) & (current != assign)))


def _band_misses(
    assign: IntArray, balance: FloatArray, lower: FloatArray, upper: FloatArray
) -> FloatArray:
    """How far each rep's load lies outside its band (0 inside), from the rounded solution."""
    load = np.bincount(assign, weights=balance, minlength=len(lower))
    return np.maximum(lower - load, 0.0) + np.maximum(load - upper, 0.0)


def solve_contiguous(
    cost: FloatArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    *,
    neighbours_indptr: IntArray,
    neighbours: IntArray,
    home_dist: FloatArray,
    home_links: Sequence[frozenset[int]],
    start: IntArray,
    free: npt.NDArray[np.bool_],
    time_limit_s: float = 20.0,
    mip_rel_gap: float = 1e-3,
    allowed: npt.NDArray[np.bool_] | None = None,
    stay: IntArray | None = None,
    max_moved: int | None = None,
) -> IntArray | None:
    """Balanced assignment in which every territory is connected by construction, or None.

    Shortest-path-tree contiguity (Zoltners and Sinha): account i may join rep j only if one of
    its graph neighbours that lies strictly closer to j's home (``home_dist``, through the
    graph) joins j too, or i is one of the accounts the home links to. Following such
    neighbours from any member reaches the home, so no territory can hold an enclave. It is a
    sufficient condition, not a necessary one (it forbids some contiguous splits), in exchange
    for being linear: ``n x m`` rows of ~8 entries, which HiGHS solves exactly for a few
    thousand binaries. Accounts with ``free`` false keep their ``start`` rep (their load counts
    as a constant), which makes the same model a local repair around the enclaves of a large
    instance. With ``stay`` (each account's current rep, ``-1`` for none) and ``max_moved``,
    at most that many accounts end with a rep other than their current one (a realignment's
    move cap). None when no split meets the band, or the time limit ends without one.
    """
    n, m = cost.shape
    idx = np.nonzero(free)[0]
    if len(idx) == 0:
        return None  # every account held: nothing to decide
    pos = np.full(n, -1, dtype=np.int64)
    pos[idx] = np.arange(len(idx))
    nf = len(idx)
    nx = nf * m
    fixed_load = np.bincount(start[~free], weights=balance[~free], minlength=m)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    forbid: list[int] = []
    r = 0
    for k, i in enumerate(idx):
        nb = neighbours[neighbours_indptr[i] : neighbours_indptr[i + 1]]
        for j in range(m):
            if int(i) in home_links[j]:
                continue
            if np.any((~free[nb]) & (start[nb] == j)):
                continue  # next to a held account of j: joined to j's main piece
            closer = nb[home_dist[nb, j] < home_dist[i, j]]
            preds = pos[closer[free[closer]]]
            if len(preds) == 0:
                forbid.append(k * m + j)
                continue
            rows += [r] * (1 + len(preds))
            cols += [k * m + j, *(int(q) * m + j for q in preds)]
            vals += [1.0] + [-1.0] * len(preds)
            r += 1
    c_idx = np.arange(nx)
    one = coo_matrix((np.ones(nx), (c_idx // m, c_idx)), shape=(nf, nx)).tocsr()
    load = coo_matrix((balance[idx][c_idx // m], (c_idx % m, c_idx)), shape=(m, nx)).tocsr()
    b_scale = float(np.mean(balance[idx])) if nf else 1.0
    constraints = [
        LinearConstraint(one, 1.0, 1.0),
        LinearConstraint(
            load / b_scale, (lower - fixed_load) / b_scale, (upper - fixed_load) / b_scale
        ),
    ]
    if r:
        spt = coo_matrix((vals, (rows, cols)), shape=(r, nx)).tocsr()
        constraints.append(LinearConstraint(spt, -np.inf, 0.0))
    if stay is not None and max_moved is not None:
        held = ~free & (stay >= 0) & (start != stay)
        spare = max_moved - int(held.sum())
        if spare < 0:
            return None
        keep = np.nonzero(stay[idx] >= 0)[0]
        if len(keep):
            # Accounts kept by their current rep: all but ``spare`` of them.
            kept = keep * m + stay[idx][keep]
            row = coo_matrix(
                (np.ones(len(keep)), (np.zeros(len(keep), dtype=np.int64), kept)), shape=(1, nx)
            ).tocsr()
            constraints.append(LinearConstraint(row, len(keep) - spare, np.inf))
    ub = np.ones(nx) if allowed is None else allowed[idx].astype(np.float64).ravel()
    ub[forbid] = 0.0
    c = cost[idx].ravel()
    c = c / (float(np.mean(np.abs(c))) or 1.0)
    res = milp(
        c,
        constraints=constraints,
        integrality=np.ones(nx),
        bounds=Bounds(np.zeros(nx), ub),
        options={"time_limit": time_limit_s, "mip_rel_gap": mip_rel_gap, "disp": False},
    )
    if res.x is None:
        return None
    out = start.copy()
    out[idx] = np.argmax(np.asarray(res.x).reshape(nf, m), axis=1)
    return out
