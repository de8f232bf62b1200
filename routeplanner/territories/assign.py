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

from collections.abc import Mapping, Sequence
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
    allowed: npt.NDArray[np.bool_] | None = None,
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
    n, m = cost.shape
    assign = np.full(n, -1, dtype=np.int64)
    for i, j in fixed.items():
        assign[i] = j
    if len(fixed) == n:
        slack = _band_misses(assign, balance, lower, upper)
        return AssignResult(assign, True, 0.0, slack, "all accounts fixed")
    opts = {"time_limit_s": time_limit_s, "mip_rel_gap": mip_rel_gap}
    # Scale to O(1): workload shares of 1e-4 next to costs of 1e3 leave HiGHS's absolute
    # tolerances far too coarse (reduced costs came back wrong by a third of the cost range).
    b_scale = float(np.mean(np.abs(balance))) or 1.0
    c_scale = float(np.mean(np.abs(cost))) or 1.0
    balance, lower, upper = balance / b_scale, lower / b_scale, upper / b_scale
    cost = cost / c_scale
    move_penalty = move_penalty / c_scale

    def build(pins: Mapping[int, int], cap: float | None) -> _Model:
        return _build(
            cost, balance, lower, upper, pins, current, max_moves, move_penalty, cap, allowed
        )

    # Lexicographic: meet the band if possible (hard rows); else first find the smallest miss,
    # then the cheapest split with that miss. A single objective with a big penalty on the miss
    # is exact on paper but not in floating point: its cost scale swamps HiGHS's tolerances
    # and the travel part comes back visibly suboptimal (interleaved territories).
    cap: float | None = None
    model = build(fixed, cap)
    lp = _run(model, integral=False, **opts)
    if lp is None:
        miss = _run(build(fixed, -1.0), integral=False, **opts)
        if miss is None:
            msg = "assignment LP found no solution even with the balance band relaxed"
            raise InternalError(msg)
        cap = float(miss[1][model.nx :].sum()) * (1 + 1e-6) + 1e-9
        model = build(fixed, cap)
        lp = _run(model, integral=False, **opts)
        if lp is None:
            msg = "assignment LP returned no solution"
            raise InternalError(msg)
    lp_assign, lp_x, lp_value = lp
    lp_slack = float(lp_x[model.nx :].sum())
    x = lp_x[: model.nx].reshape(len(model.free), m)
    split_rows = np.nonzero(x.max(axis=1) < 1.0 - 1e-6)[0]
    limit = max_moves if max_moves is not None else n

    def result(candidate: IntArray, how: str, *, strict: bool) -> AssignResult | None:
        slack = _band_misses(candidate, balance, lower, upper)
        too_far = float(slack.sum()) > lp_slack + 1e-9 * max(1.0, float(balance.sum()))
        if strict and (too_far or count_moves(candidate, current) > limit):
            return None
        value = model.objective(candidate)
        gap = max((value - lp_value) / abs(lp_value), 0.0) if lp_value else 0.0
        return AssignResult(
            candidate, gap <= mip_rel_gap and not too_far, gap, slack * b_scale, how
        )

    found = result(lp_assign, f"LP optimum rounded ({len(split_rows)} split)", strict=True)
    if found is not None:
        return found
    # Re-decide only the split accounts exactly, every other account where the LP put it.
    pinned = dict(fixed)
    keep = np.ones(len(model.free), dtype=bool)
    keep[split_rows] = False
    for k in np.nonzero(keep)[0]:
        pinned[int(model.free[k])] = int(lp_assign[model.free[k]])
    small_model = build(pinned, cap)
    if len(small_model.free):
        small = _run(small_model, integral=True, time_limit_s=time_limit_s, mip_rel_gap=1e-6)
        if small is not None:
            how = f"LP optimum, {len(split_rows)} split accounts solved exactly"
            found = result(small[0], how, strict=True)
            if found is not None:
                return found
    full = _run(model, integral=True, **opts)
    if full is not None:
        found = result(full[0], "full MIP", strict=False)
        assert found is not None
        return found
    # The band is met by the LP but by no integer split (few, lumpy accounts): smallest miss.
    miss = _run(build(fixed, -1.0), integral=True, **opts)
    if miss is None:
        msg = "assignment MIP returned no solution"
        raise InternalError(msg)
    cap = float(miss[1][model.nx :].sum()) * (1 + 1e-6) + 1e-9
    model = build(fixed, cap)
    full = _run(model, integral=True, **opts)
    chosen = full[0] if full is not None else miss[0]
    found = result(chosen, "full MIP, band relaxed", strict=False)
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
    if res.x is None:
        return None
    x = np.asarray(res.x, dtype=np.float64)
    assign = model.base.copy()
    if len(model.free):
        assign[model.free] = np.argmax(x[: model.nx].reshape(len(model.free), model.m), axis=1)
    return assign, x, model.objective(assign) if integral else float(res.fun) + model.fixed_cost


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
