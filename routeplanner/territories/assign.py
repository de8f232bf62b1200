"""Balanced assignment of accounts to reps as a mixed-integer programme (HiGHS via scipy).

Why a MIP and why scipy: giving every account to exactly one rep while keeping each rep's
workload inside a band is a generalised assignment problem. Its LP relaxation is almost integral
(a basic solution splits at most one account per active balance row), so HiGHS closes it in a
few branch-and-bound nodes even for 2,000 x 10 binaries. ``scipy.optimize.milp`` ships HiGHS
with scipy, which we already depend on, so the territory code needs no second OR-Tools adapter
(only ``routing/ortools_vrptw.py`` may import ortools). A min-cost flow cannot express it exactly:
accounts carry different workloads, and flow would split them.

Balance bands are soft: a slack per rep and side, priced far above any travel cost, keeps the
model feasible when locks or a move limit make the band unreachable; the slack then says by how
much the band is missed instead of the solver failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, csr_matrix, vstack

from routeplanner.errors import InternalError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class AssignResult:
    """Rep index per account, how the solver ended, and the balance band misses per rep."""

    assign: IntArray
    optimal: bool
    mip_gap: float
    slack: FloatArray
    status: str


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
    mip_rel_gap: float = 1e-3,
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

    Raises
    ------
    InternalError
        When HiGHS returns no solution at all (the model is always feasible thanks to slack,
        so this means a time limit hit before the first incumbent).
    """
    fixed = dict(fixed or {})
    n, m = cost.shape
    assign = np.full(n, -1, dtype=np.int64)
    for i, j in fixed.items():
        assign[i] = j
    if len(fixed) == n:
        slack = _band_misses(assign, balance, lower, upper)
        return AssignResult(assign, True, 0.0, slack, "all accounts fixed")
    model = _build(cost, balance, lower, upper, fixed, current, max_moves, move_penalty, None)
    lp = _run(model, integral=False, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if lp is None:
        msg = "assignment LP returned no solution"
        raise InternalError(msg)
    lp_assign, lp_x, lp_value = lp
    lp_slack = float(lp_x[model.nx :].sum())
    x = lp_x[: model.nx].reshape(len(model.free), m)
    split_rows = np.nonzero(x.max(axis=1) < 1.0 - 1e-6)[0]
    limit = max_moves if max_moves is not None else n

    def accept(candidate: IntArray, how: str) -> AssignResult | None:
        slack = _band_misses(candidate, balance, lower, upper)
        if float(slack.sum()) > lp_slack + 1e-9 or _moves(candidate, current, model.free) > limit:
            return None
        value = model.objective(candidate, slack)
        gap = max((value - lp_value) / abs(lp_value), 0.0) if lp_value else 0.0
        return AssignResult(candidate, gap <= mip_rel_gap, gap, slack, how)

    found = accept(lp_assign, f"LP optimum rounded ({len(split_rows)} split accounts)")
    if found is not None:
        return found
    pinned = dict(fixed)
    keep = np.ones(len(model.free), dtype=bool)
    keep[split_rows] = False
    for k in np.nonzero(keep)[0]:
        pinned[int(model.free[k])] = int(lp_assign[model.free[k]])
    small_model = _build(
        cost, balance, lower, upper, pinned, current, max_moves, move_penalty, model.big
    )
    if len(small_model.free):
        small = _run(small_model, integral=True, time_limit_s=time_limit_s, mip_rel_gap=1e-6)
        if small is not None:
            found = accept(small[0], f"LP optimum, {len(split_rows)} split accounts solved exactly")
            if found is not None:
                return found
    full = _run(model, integral=True, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if full is None:
        msg = "assignment MIP returned no solution"
        raise InternalError(msg)
    f_assign = full[0]
    slack = _band_misses(f_assign, balance, lower, upper)
    value = model.objective(f_assign, slack)
    gap = max((value - lp_value) / abs(lp_value), 0.0) if lp_value else 0.0
    return AssignResult(f_assign, gap <= mip_rel_gap, gap, slack, "full MIP")


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
    big: float
    fixed_cost: float

    def objective(self, assign: IntArray, slack: FloatArray) -> float:
        """Objective of a full assignment in the same terms as the solver's value."""
        sub = assign[self.free]
        return (
            float(self.c_x[np.arange(len(sub)), sub].sum())
            + self.fixed_cost
            + self.big * float(slack.sum())
        )


def _build(
    cost: FloatArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    fixed: Mapping[int, int],
    current: IntArray | None,
    max_moves: int | None,
    move_penalty: float,
    big: float | None,
) -> _Model:
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
    if big is None:
        # Slack must cost more than any travel saving: moving the cheapest account out of a
        # band costs at most max(cost) and reduces the miss by its balance.
        positive = balance[balance > 0]
        min_bal = float(positive.min()) if len(positive) else 1.0
        big = 10.0 * (float(np.abs(full_cost).max()) + 1.0) / min_bal
    nx = nf * m
    nvar = nx + 2 * m
    c = np.concatenate([c_x.ravel(), np.full(2 * m, big)])
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
    low_rows = np.concatenate([cols % m, reps])
    low_cols = np.concatenate([cols, nx + reps])
    rows.append(
        coo_matrix(
            (np.concatenate([vals, np.ones(m)]), (low_rows, low_cols)), shape=(m, nvar)
        ).tocsr()
    )
    lbs.append(lower - fixed_load)
    ubs.append(np.full(m, np.inf))
    up_cols = np.concatenate([cols, nx + m + reps])
    rows.append(
        coo_matrix(
            (np.concatenate([vals, -np.ones(m)]), (low_rows, up_cols)), shape=(m, nvar)
        ).tocsr()
    )
    lbs.append(np.full(m, -np.inf))
    ubs.append(upper - fixed_load)
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
    bounds = Bounds(np.zeros(nvar), np.concatenate([np.ones(nx), np.full(2 * m, np.inf)]))
    constraint = LinearConstraint(vstack(rows).tocsr(), np.concatenate(lbs), np.concatenate(ubs))
    return _Model(c, c_x, constraint, bounds, nx, m, free, base, big, fixed_cost)


def _run(
    model: _Model, *, integral: bool, time_limit_s: float, mip_rel_gap: float
) -> tuple[IntArray, FloatArray, float] | None:
    """Solve the LP or MIP; returns the argmax-rounded assignment, the raw x and the value."""
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
    if res.x is None:
        return None
    x = np.asarray(res.x, dtype=np.float64)
    assign = model.base.copy()
    if len(model.free):
        assign[model.free] = np.argmax(x[: model.nx].reshape(len(model.free), model.m), axis=1)
    return assign, x, float(res.fun) + model.fixed_cost


def _moves(assign: IntArray, current: IntArray | None, free: IntArray) -> int:
    """Accounts with a current rep that end up with another one (over all accounts)."""
    del free
    if current is None:
        return 0
    return int(np.sum((current >= 0) & (current != assign)))


def _band_misses(
    assign: IntArray, balance: FloatArray, lower: FloatArray, upper: FloatArray
) -> FloatArray:
    """How far each rep's load lies outside its band (0 inside), from the rounded solution."""
    load = np.bincount(assign, weights=balance, minlength=len(lower))
    return np.maximum(lower - load, 0.0) + np.maximum(load - upper, 0.0)
