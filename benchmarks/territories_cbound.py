"""A lower bound on the travel of any *contiguous* balanced split, tighter than the LP bound.

    python -m benchmarks.territories_cbound --osm PATH --accounts N --reps K --seed S

Same generated accounts and reps as ``benchmarks.territories``. Why: the territory benchmark
compares designs with the LP bound of any +/-5 % split (``balanced_home_bound``), which ignores
contiguity, and on cases with reps living far from the work the designs stay 13-15 % above it.
This tool measures how much of that gap contiguity alone forces.

Relaxation: the bound's programme (each account to one rep, every rep's workload within
+/-5 % of its capacity share, minimise total road time from home) with, for the "stranded"
reps (nearest-home area under ``--share`` of their target; by default every rep), integer
assignment and connectivity on the same neighbour graph the enclave count uses. Every
contiguous balanced split is feasible for it, so any lower bound of it bounds them all.
Connectivity is added as cuts:

- degree cuts ``y_i <= sum of y over i's neighbours`` for every account (a territory of a
  stranded rep needs many accounts, so none of them is alone);
- separator cuts, each round, for a piece C of a stranded territory apart from its main piece:
  when C weighs less than the territory's lower band, ``y_i <= sum of y over the accounts
  bordering C`` for every i in C (a territory holding i must weigh more than C, so it leaves C,
  through its border); otherwise, with the main piece's account j nearest the home,
  ``y_i + y_j - 1 <= sum of y over the accounts bordering C`` (those accounts separate i from
  j). The first kind needs no second account, so the next round cannot dodge it by dropping
  the main piece's anchor: seed 2 reached 1.0386 x the LP bound in 10 minutes with it, 1.033 x
  in 14 without.

More reps with integer territories give a higher bound in the same time, as every contiguous
split keeps them connected too: on seed 2, 1.0410 x the LP bound with five (``--share 0.85``)
against 1.0388 x with three (0.5) after 15 minutes, and 1.0447 x with all ten after 20; on
seed 4, 1.0570 x with all ten against 1.054 x with three after 15 minutes. Hence the default:
every rep.

Each round's MIP (HiGHS, ``scipy.optimize.milp``) gives a dual bound, valid whether or not the
round finished; the best one is printed as a ratio to the LP bound. Rounds stop when the
stranded territories come out connected (then the value is the relaxation's optimum) or the
budget is spent (then it is a bound still rising).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from benchmarks.territories import balanced_home_bound, make_accounts, make_reps
from routeplanner.roads.graph import load_road_graph
from routeplanner.settings import Settings
from routeplanner.territories.contiguity import neighbour_graph
from routeplanner.territories.workload import TerritoryContext, build_context
from routeplanner.travel.road import RoadTravel

FloatArray = npt.NDArray[np.float64]


class Cuts:
    """Rows ``sum(coef * x) <= ub`` over the ``n x m`` assignment variables (index i*m + j)."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.ub: list[float] = []

    def add(self, cols: list[int], vals: list[float], ub: float) -> None:
        r = len(self.ub)
        self.rows += [r] * len(cols)
        self.cols += cols
        self.vals += vals
        self.ub.append(ub)

    def constraint(self) -> LinearConstraint:
        n, m = self.shape
        a = coo_matrix((self.vals, (self.rows, self.cols)), shape=(len(self.ub), n * m))
        return LinearConstraint(a.tocsr(), -np.inf, np.array(self.ub))


def stranded_reps(ctx: TerritoryContext, share_below: float = 0.5) -> list[int]:
    """Reps whose nearest-home area holds under ``share_below`` of their workload target, worst
    first: the ones the LP bound lets pick scattered accounts, so where contiguity costs most."""
    w = ctx.workload_s / ctx.workload_s.sum()
    target = ctx.capacity_s / ctx.capacity_s.sum()
    near = np.argmin(ctx.home_s, axis=0)
    share = np.bincount(near, weights=w, minlength=ctx.n_reps) / target
    return [int(j) for j in np.argsort(share) if share[j] < share_below]


def contiguous_bound(
    ctx: TerritoryContext, reps: list[int], budget_s: float, round_limit_s: float
) -> tuple[float, bool]:
    """Best dual bound (mean travel to home) and whether the relaxation was solved to the end."""
    n, m = ctx.n_accounts, ctx.n_reps
    w = ctx.workload_s / ctx.workload_s.sum()
    target = ctx.capacity_s / ctx.capacity_s.sum()
    graph = csr_matrix(neighbour_graph(ctx.neighbours, ctx.account_s))
    indptr, indices = graph.indptr, graph.indices
    cols = np.arange(n * m)
    one = coo_matrix((np.ones(n * m), (cols // m, cols)), shape=(n, n * m)).tocsr()
    load = coo_matrix((w[cols // m], (cols % m, cols)), shape=(m, n * m)).tocsr()
    lower = target * 0.95
    base = [LinearConstraint(one, 1, 1), LinearConstraint(load, lower, target * 1.05)]
    integrality = np.zeros(n * m)
    cuts = Cuts((n, m))
    for j in reps:
        integrality[np.arange(n) * m + j] = 1
        for i in range(n):
            nb = [int(v) for v in indices[indptr[i] : indptr[i + 1]] if v != i]
            cuts.add([i * m + j] + [v * m + j for v in nb], [1.0] + [-1.0] * len(nb), 0.0)
    cost = ctx.home_s.T.ravel()
    best = 0.0
    start = time.perf_counter()
    for rnd in range(1000):
        left = budget_s - (time.perf_counter() - start)
        if left <= 1:
            return best, False
        res = milp(
            cost,
            constraints=[*base, cuts.constraint()],
            integrality=integrality,
            bounds=Bounds(0, 1),
            options={"time_limit": min(left, round_limit_s), "mip_rel_gap": 2e-3},
        )
        if res.x is None:
            return best, False
        dual = getattr(res, "mip_dual_bound", None)
        best = max(best, float(res.fun if dual is None else dual) / n)
        x = np.asarray(res.x).reshape(n, m)
        added = 0
        for j in reps:
            added += _separate(graph, x[:, j] > 0.5, ctx.home_s[j], j, m, cuts, w, lower[j])
        print(
            f"  round {rnd + 1}: dual bound {best:.1f} s, {added} new cuts, "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )
        if added == 0:
            return best, res.status == 0
    return best, False


def _separate(
    graph: csr_matrix,
    chosen: npt.NDArray[np.bool_],
    home: FloatArray,
    j: int,
    m: int,
    cuts: Cuts,
    weight: FloatArray,
    lower: float,
) -> int:
    """Separator cuts for every piece of rep ``j``'s territory apart from its main piece.

    ``weight`` and ``lower``: account workloads and the territory's least workload, in the same
    units; a piece lighter than ``lower`` gets cuts without the anchor (see the module text).
    """
    sel = np.flatnonzero(chosen)
    count, labels = connected_components(graph[sel][:, sel], directed=False)
    if count <= 1:
        return 0
    sizes = np.bincount(labels, minlength=count)
    main = int(np.argmax(sizes))
    members = sel[labels == main]
    anchor = int(members[np.argmin(home[members])])
    added = 0
    for piece in range(count):
        if piece == main:
            continue
        inside = sel[labels == piece]
        mask = np.zeros(graph.shape[0], dtype=bool)
        mask[inside] = True
        border = np.unique(graph[inside].indices)
        border = border[~mask[border]]
        # A light piece needs no anchor: y_i <= y(border). Else y_i + y_anchor - 1 <= y(border).
        pair = [] if float(weight[inside].sum()) < lower else [anchor * m + j]
        border_cols = [int(v) * m + j for v in border]
        for i in inside:
            cuts.add(
                [int(i) * m + j, *pair, *border_cols],
                [1.0] * (1 + len(pair)) + [-1.0] * len(border_cols),
                float(len(pair)),
            )
            added += 1
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, required=True)
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--reps", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=900.0, help="seconds in all")
    parser.add_argument("--round-limit", type=float, default=60.0, help="seconds per MIP")
    parser.add_argument(
        "--share",
        type=float,
        default=math.inf,
        help="reps whose nearest-home area holds under this share of their target get integer, "
        "connected territories (default: every rep; fewer reps: smaller MIPs, a lower bound)",
    )
    args = parser.parse_args(argv)

    graph = load_road_graph(args.osm, cache_dir=Settings().cache_dir)
    travel = RoadTravel(graph)
    accounts = make_accounts(travel, args.accounts, args.seed, "A")
    reps = make_reps(accounts, args.reps, args.seed)
    ctx = build_context(accounts, reps, travel)
    lp = balanced_home_bound(ctx, 0.05)
    stranded = stranded_reps(ctx, args.share)
    print(f"LP bound {lp:.1f} s; stranded reps {[ctx.reps[j].rep_id for j in stranded]}")
    if not stranded:
        print("no stranded rep: nothing to add to the LP bound")
        return 0
    bound, solved = contiguous_bound(ctx, stranded, args.budget, args.round_limit)
    state = "solved" if solved else "still rising when stopped"
    print(f"contiguous lower bound {bound:.1f} s = {bound / lp:.4f} x the LP bound ({state})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
