"""Compiled population of one island: feasible and infeasible plans, diversity, selection.

As in hybrid genetic search (Vidal et al. 2012), each plan is ranked by a *biased fitness*:
its rank by penalised cost plus, weighted, its rank by distance to the closest plans, so a
cheap plan that duplicates others loses to a slightly dearer one that brings something new.
The distance is the share of visits (customer, day) one plan makes that the other does not,
or makes with other neighbours in its route (broken pairs). When a sub-population reaches
``mu + lam`` plans, the worst by biased fitness are removed (clones first) down to ``mu``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from routeplanner.scheduling.hgs.compiled import kernel
from routeplanner.scheduling.hgs.instance import (
    A_DIST,
    A_LOAD,
    A_SVC,
    CAP,
    DEM,
    DMAX,
    LEN,
    ROUTE,
    SMAX,
    SOFT,
    FloatArray,
    Inst,
    IntArray,
    Pats,
    Routes,
    UIntArray,
)
from routeplanner.scheduling.hgs.routes import EPS, rand_int, set_route

FEAS_TOL = 1e-6
"""Excess load/duration/stops below this counts as none."""

# Indices into Pop.cnt
N_INIT = 0  # initial plans made since the last (re)start
ITER = 1  # offspring made
LAST_BEST = 2  # ITER at the last new best
RESTARTS = 3
HIST_POS = 4


class Params(NamedTuple):
    mu: int = 25
    lam: int = 40
    n_elite: int = 4
    n_close: int = 5
    target_feasible: float = 0.2
    n_init: int = 100
    restart_after: int = 20000
    repair_rate: float = 0.5
    max_rounds: int = 4


class Pop(NamedTuple):
    """Plans by slot; slot ``cap - 1`` holds the best feasible plan found."""

    pat: IntArray  # (cap, n+1)
    tour: IntArray  # (cap, days, n) routes of a day one after another
    rl: IntArray  # (cap, days, vmax) route lengths
    nv: IntArray  # (cap, days)
    succ: IntArray  # (cap, days, n+1) next location, -1 = not visited that day
    pred: IntArray
    obj: FloatArray  # (cap,) travel + overtime + pattern costs
    exc: FloatArray  # (cap, 3) excess load, duration, stops
    pcost: FloatArray  # (cap,) penalised cost
    dmat: FloatArray  # (cap, cap)
    members: IntArray  # (2, cap) feasible, infeasible
    size: IntArray  # (2,)
    free: IntArray  # (cap,)
    nfree: IntArray  # (1,)
    fit: FloatArray  # (cap,)
    close: FloatArray  # (cap,) mean distance to the closest plans
    nearest: FloatArray  # (cap,) distance to the closest plan
    near: FloatArray  # (cap,) scratch
    order: IntArray  # (cap,) scratch
    pen: FloatArray  # (3,) managed penalties
    hist: IntArray  # (3, 100) feasibility of the last offspring per constraint
    cnt: IntArray  # counters, see N_INIT ...
    best: FloatArray  # (1,) objective of the best feasible plan, inf = none yet
    rng: UIntArray  # (1,)


def new_pop(inst: Inst, params: Params, seed: int) -> Pop:
    cap = 2 * (params.mu + params.lam) + 4
    t, m, n = inst.days, max(1, inst.vmax), inst.n
    z = np.zeros
    pen = np.ones(3)
    max_dem = float(inst.node[:, DEM].max()) if n else 0.0
    max_dist = float(inst.dist.max()) if n else 1.0
    pen[0] = max(0.1, min(1000.0, max_dist / max_dem)) if max_dem > 0 else 1.0
    pen[2] = max(0.1, float(inst.dist.mean())) if n else 1.0
    return Pop(
        pat=z((cap, n + 1), dtype=np.int64),
        tour=z((cap, t, max(1, n)), dtype=np.int64),
        rl=z((cap, t, m), dtype=np.int64),
        nv=z((cap, t), dtype=np.int64),
        succ=z((cap, t, n + 1), dtype=np.int64),
        pred=z((cap, t, n + 1), dtype=np.int64),
        obj=z(cap),
        exc=z((cap, 3)),
        pcost=z(cap),
        dmat=z((cap, cap)),
        members=z((2, cap), dtype=np.int64),
        size=z(2, dtype=np.int64),
        free=np.arange(cap - 1, dtype=np.int64),
        nfree=np.array([cap - 1], dtype=np.int64),
        fit=z(cap),
        close=z(cap),
        nearest=z(cap),
        near=z(cap),
        order=z(cap, dtype=np.int64),
        pen=pen,
        hist=np.ones((3, 100), dtype=np.int64),
        cnt=z(8, dtype=np.int64),
        best=np.array([np.inf]),
        rng=np.array([(seed * 0x2545F4914F6CDD1D + 1) % 2**64], dtype=np.uint64),
    )


@kernel
def save(inst: Inst, pats: Pats, rt: Routes, pop: Pop, s: int) -> None:
    """Store the solution of ``rt`` in slot ``s`` (routes, neighbours, objective, excesses)."""
    obj = 0.0
    exq = 0.0
    exd = 0.0
    exs = 0.0
    for t in range(inst.days):
        for c in range(inst.n + 1):
            pop.succ[s, t, c] = -1
            pop.pred[s, t, c] = -1
        lim = inst.day[t]
        k = 0
        for r in range(inst.nveh[t]):
            ln = rt.info[t, r, LEN]
            pop.rl[s, t, r] = ln
            nd = rt.node[t, r]
            for p in range(1, ln + 1):
                c = nd[p]
                pop.tour[s, t, k] = c
                k += 1
                pop.succ[s, t, c] = nd[p + 1]
                pop.pred[s, t, c] = nd[p - 1]
            if ln == 0:
                continue
            agg = rt.agg[t, r]
            dur = agg[A_DIST] + agg[A_SVC]
            obj += agg[A_DIST]
            if dur > lim[SOFT]:
                obj += inst.otw * (dur - lim[SOFT])
            exd += max(0.0, dur - lim[DMAX])
            exq += max(0.0, agg[A_LOAD] - lim[CAP])
            exs += max(0.0, ln - lim[SMAX])
        pop.nv[s, t] = k
    for c in range(1, inst.n + 1):
        pop.pat[s, c] = rt.pat[c]
        obj += pats.cost[rt.pat[c]]
    pop.obj[s] = obj
    pop.exc[s, 0] = exq
    pop.exc[s, 1] = exd
    pop.exc[s, 2] = exs
    pop.pcost[s] = obj + pop.pen[0] * exq + pop.pen[1] * exd + pop.pen[2] * exs


@kernel
def load(inst: Inst, rt: Routes, pop: Pop, s: int) -> None:
    """Make ``rt`` the solution stored in slot ``s``."""
    for t in range(inst.days):
        for c in range(inst.n + 1):
            rt.at[t, c, ROUTE] = -1
        k = 0
        for r in range(inst.nveh[t]):
            ln = pop.rl[s, t, r]
            rt.buf[0, 0] = 0
            for p in range(ln):
                rt.buf[0, p + 1] = pop.tour[s, t, k + p]
            rt.buf[0, ln + 1] = 0
            set_route(inst, rt, t, r, rt.buf[0], ln + 2)
            k += ln
    for c in range(inst.n + 1):
        rt.pat[c] = pop.pat[s, c]


@kernel
def is_feasible(pop: Pop, s: int) -> bool:
    return bool(max(pop.exc[s, 0], pop.exc[s, 1], pop.exc[s, 2]) <= FEAS_TOL)


@kernel
def _one_way(inst: Inst, pop: Pop, a: int, b: int) -> int:
    diff = 0
    for t in range(inst.days):
        for p in range(pop.nv[a, t]):
            c = pop.tour[a, t, p]
            sb = pop.succ[b, t, c]
            if sb < 0:
                diff += 1
            else:
                sa = pop.succ[a, t, c]
                if sa != sb and sa != pop.pred[b, t, c]:
                    diff += 1
    return diff


@kernel
def distance(inst: Inst, pop: Pop, a: int, b: int) -> float:
    total = 0
    for t in range(inst.days):
        total += pop.nv[a, t] + pop.nv[b, t]
    if total == 0:
        return 0.0
    return (_one_way(inst, pop, a, b) + _one_way(inst, pop, b, a)) / total


@kernel
def copy_slot(pop: Pop, src: int, dst: int) -> None:
    for c in range(pop.pat.shape[1]):
        pop.pat[dst, c] = pop.pat[src, c]
    for t in range(pop.nv.shape[1]):
        pop.nv[dst, t] = pop.nv[src, t]
        for p in range(pop.tour.shape[2]):
            pop.tour[dst, t, p] = pop.tour[src, t, p]
        for r in range(pop.rl.shape[2]):
            pop.rl[dst, t, r] = pop.rl[src, t, r]
        for c in range(pop.succ.shape[2]):
            pop.succ[dst, t, c] = pop.succ[src, t, c]
            pop.pred[dst, t, c] = pop.pred[src, t, c]
    for kind in range(3):
        pop.exc[dst, kind] = pop.exc[src, kind]
    pop.obj[dst] = pop.obj[src]
    pop.pcost[dst] = pop.pcost[src]


@kernel
def add(inst: Inst, pats: Pats, rt: Routes, pop: Pop, params: Params) -> bool:
    """Store ``rt`` in its sub-population (selecting survivors when full); True if new best."""
    pop.nfree[0] -= 1
    s = pop.free[pop.nfree[0]]
    save(inst, pats, rt, pop, s)
    k = 0 if is_feasible(pop, s) else 1
    for q in range(pop.size[k]):
        o = pop.members[k, q]
        d = distance(inst, pop, s, o)
        pop.dmat[s, o] = d
        pop.dmat[o, s] = d
    pop.members[k, pop.size[k]] = s
    pop.size[k] += 1
    if pop.size[k] >= params.mu + params.lam:
        while pop.size[k] > params.mu:
            _remove_worst(pop, params, k)
    if k == 0 and pop.obj[s] < pop.best[0] - EPS:
        pop.best[0] = pop.obj[s]
        copy_slot(pop, s, pop.dmat.shape[0] - 1)
        pop.cnt[LAST_BEST] = pop.cnt[ITER]
        return True
    return False


@kernel
def _closest(pop: Pop, params: Params, k: int) -> None:
    """``close``: mean distance to the ``n_close`` closest plans; ``nearest``: the closest."""
    size = pop.size[k]
    n_close = min(params.n_close, size - 1)
    near = pop.near
    for i in range(size):
        a = pop.members[k, i]
        for z in range(n_close):
            near[z] = np.inf
        for j in range(size):
            if j == i:
                continue
            d = pop.dmat[a, pop.members[k, j]]
            if d < near[n_close - 1]:
                z = n_close - 1
                while z > 0 and near[z - 1] > d:
                    near[z] = near[z - 1]
                    z -= 1
                near[z] = d
        total = 0.0
        for z in range(n_close):
            total += near[z]
        pop.close[a] = total / n_close
        pop.nearest[a] = near[0]


@kernel
def _rank(pop: Pop, k: int, key: FloatArray, sign: float, weight: float) -> None:
    """Add ``weight`` x (rank of ``sign * key`` among sub-population k) / (size - 1) to fit."""
    size = pop.size[k]
    order = pop.order
    for i in range(size):
        s = pop.members[k, i]
        z = i
        while z > 0 and sign * key[order[z - 1]] > sign * key[s]:
            order[z] = order[z - 1]
            z -= 1
        order[z] = s
    for rank in range(size):
        pop.fit[order[rank]] += weight * rank / (size - 1)


@kernel
def update_fitness(pop: Pop, params: Params, k: int) -> None:
    """Biased fitness of sub-population ``k``: cost rank plus weighted diversity rank."""
    size = pop.size[k]
    if size == 0:
        return
    if size == 1:
        s = pop.members[k, 0]
        pop.fit[s] = 0.0
        pop.close[s] = 1.0
        pop.nearest[s] = 1.0
        return
    _closest(pop, params, k)
    for i in range(size):
        pop.fit[pop.members[k, i]] = 0.0
    _rank(pop, k, pop.pcost, 1.0, 1.0)
    _rank(pop, k, pop.close, -1.0, 1.0 - params.n_elite / size)


@kernel
def _remove_worst(pop: Pop, params: Params, k: int) -> None:
    update_fitness(pop, params, k)
    size = pop.size[k]
    worst = -1
    worst_clone = False
    for i in range(size):
        a = pop.members[k, i]
        clone = pop.nearest[a] < 1e-9
        if (
            worst < 0
            or (clone and not worst_clone)
            or (clone == worst_clone and pop.fit[a] > pop.fit[pop.members[k, worst]])
        ):
            worst = i
            worst_clone = clone
    s = pop.members[k, worst]
    pop.members[k, worst] = pop.members[k, size - 1]
    pop.size[k] -= 1
    pop.free[pop.nfree[0]] = s
    pop.nfree[0] += 1


@kernel
def tournament(pop: Pop) -> int:
    """Binary tournament by biased fitness over both sub-populations."""
    total = pop.size[0] + pop.size[1]
    best = -1
    for _ in range(2):
        i = rand_int(pop.rng, total)
        s = pop.members[0, i] if i < pop.size[0] else pop.members[1, i - pop.size[0]]
        if best < 0 or pop.fit[s] < pop.fit[best]:
            best = s
    return best


@kernel
def clear(pop: Pop) -> None:
    """Forget every plan but the best (a restart)."""
    cap = pop.dmat.shape[0]
    pop.size[0] = 0
    pop.size[1] = 0
    for i in range(cap - 1):
        pop.free[i] = cap - 2 - i
    pop.nfree[0] = cap - 1


@kernel
def adapt_penalties(pop: Pop, params: Params) -> None:
    """Move each penalty towards ``target_feasible`` offspring, then re-price the infeasible."""
    for kind in range(3):
        share = pop.hist[kind].mean()
        if share < params.target_feasible - 0.05:
            pop.pen[kind] = min(pop.pen[kind] * 1.2, 1e6)
        elif share > params.target_feasible + 0.05:
            pop.pen[kind] = max(pop.pen[kind] * 0.85, 0.01)
    for q in range(pop.size[1]):
        s = pop.members[1, q]
        pop.pcost[s] = pop.obj[s] + (
            pop.pen[0] * pop.exc[s, 0] + pop.pen[1] * pop.exc[s, 1] + pop.pen[2] * pop.exc[s, 2]
        )
