"""Compiled generation loop of one island: initial plans, then crossover, education, survival.

Each step makes one plan: while the population is being (re)built, from random patterns and
random day orders; afterwards as the child of two parents chosen by binary tournament. The plan
is educated (route and pattern improvement) under the island's penalties and stored; half of
the infeasible ones are educated again under ten times the penalties and stored once more if
that made them feasible. Every 100 plans the penalties move towards a fifth of the plans being
feasible; after ``restart_after`` plans without a new best the population starts afresh.
"""

from __future__ import annotations

import numpy as np

from routeplanner.scheduling.hgs.compiled import kernel
from routeplanner.scheduling.hgs.instance import (
    A_DIST,
    A_LOAD,
    A_SVC,
    CAP,
    DMAX,
    LEN,
    ROUTE,
    SMAX,
    Inst,
    IntArray,
    Pats,
    Routes,
    Scratch,
)
from routeplanner.scheduling.hgs.patterns import (
    crossover,
    educate,
    from_patterns,
    random_patterns,
)
from routeplanner.scheduling.hgs.population import (
    FEAS_TOL,
    HIST_POS,
    ITER,
    LAST_BEST,
    N_INIT,
    RESTARTS,
    Params,
    Pop,
    adapt_penalties,
    add,
    clear,
    load,
    tournament,
    update_fitness,
)
from routeplanner.scheduling.hgs.routes import rand_unit, remove_visit, reprice


@kernel
def _excess(inst: Inst, rt: Routes, kind: int) -> float:
    total = 0.0
    for t in range(inst.days):
        lim = inst.day[t]
        for r in range(inst.nveh[t]):
            ln = rt.info[t, r, LEN]
            if ln == 0:
                continue
            agg = rt.agg[t, r]
            if kind == 0:
                total += max(0.0, agg[A_LOAD] - lim[CAP])
            elif kind == 1:
                total += max(0.0, agg[A_DIST] + agg[A_SVC] - lim[DMAX])
            else:
                total += max(0.0, ln - lim[SMAX])
    return total


@kernel
def _set_penalties(inst: Inst, rt: Routes, pop: Pop, factor: float) -> None:
    for kind in range(3):
        rt.pen[kind] = factor * pop.pen[kind]
    reprice(inst, rt)


@kernel
def _educate_and_add(
    inst: Inst, pats: Pats, rt: Routes, sc: Scratch, pop: Pop, params: Params
) -> None:
    _set_penalties(inst, rt, pop, 1.0)
    educate(inst, pats, rt, sc, pop.rng, params.max_rounds)
    feasible = True
    pos = pop.cnt[HIST_POS]
    for kind in range(3):
        ok = _excess(inst, rt, kind) <= FEAS_TOL
        pop.hist[kind, pos] = 1 if ok else 0
        feasible = feasible and ok
    pop.cnt[HIST_POS] = (pos + 1) % pop.hist.shape[1]
    add(inst, pats, rt, pop, params)
    if not feasible and rand_unit(pop.rng) < params.repair_rate:
        _set_penalties(inst, rt, pop, 10.0)
        educate(inst, pats, rt, sc, pop.rng, params.max_rounds)
        if max(_excess(inst, rt, 0), _excess(inst, rt, 1), _excess(inst, rt, 2)) <= FEAS_TOL:
            add(inst, pats, rt, pop, params)


@kernel
def run_steps(
    inst: Inst,
    pats: Pats,
    rt: Routes,
    sc: Scratch,
    pop: Pop,
    params: Params,
    steps: int,
    chosen: IntArray,
) -> None:
    """Make ``steps`` plans (``chosen`` is scratch of length n+1)."""
    for _ in range(steps):
        _set_penalties(inst, rt, pop, 1.0)
        if pop.cnt[N_INIT] < params.n_init or pop.size[0] + pop.size[1] < 2:
            random_patterns(inst, pats, chosen, pop.rng)
            from_patterns(inst, pats, rt, sc, chosen, pop.rng)
            pop.cnt[N_INIT] += 1
        else:
            update_fitness(pop, params, 0)
            update_fitness(pop, params, 1)
            first = tournament(pop)
            second = tournament(pop)
            crossover(inst, pats, rt, sc, pop.tour, pop.nv, first, second, pop.rng)
        _educate_and_add(inst, pats, rt, sc, pop, params)
        pop.cnt[ITER] += 1
        if pop.cnt[ITER] % 100 == 0:
            adapt_penalties(pop, params)
        if pop.cnt[ITER] - pop.cnt[LAST_BEST] > params.restart_after:
            clear(pop)
            pop.cnt[N_INIT] = 0
            pop.cnt[LAST_BEST] = pop.cnt[ITER]
            pop.cnt[RESTARTS] += 1


@kernel
def seed_plan(
    inst: Inst, pats: Pats, rt: Routes, sc: Scratch, pop: Pop, params: Params, chosen: IntArray
) -> None:
    """Add the plan with the given patterns (-1 = cheapest) to the population (warm start)."""
    _set_penalties(inst, rt, pop, 1.0)
    from_patterns(inst, pats, rt, sc, chosen, pop.rng)
    _educate_and_add(inst, pats, rt, sc, pop, params)


RESCUE_PENALTY = 1e12
"""Penalty per unit of excess when a plan must become feasible: above any leave-out cost."""


@kernel
def _cheapest_drop(inst: Inst, pats: Pats, rt: Routes) -> int:
    """The customer of an infeasible route whose leaving out costs least (-1: none can)."""
    best = -1
    best_cost = np.inf
    for t in range(inst.days):
        lim = inst.day[t]
        for r in range(inst.nveh[t]):
            ln = rt.info[t, r, LEN]
            agg = rt.agg[t, r]
            over = agg[A_LOAD] > lim[CAP] + FEAS_TOL or ln > lim[SMAX]
            if not over and agg[A_DIST] + agg[A_SVC] <= lim[DMAX] + FEAS_TOL:
                continue
            for p in range(1, ln + 1):
                c = rt.node[t, r, p]
                q = pats.ptr[c + 1] - 1
                if pats.dptr[q + 1] > pats.dptr[q]:
                    continue  # no leave-out pattern
                cost = pats.cost[q] - pats.cost[rt.pat[c]]
                if cost < best_cost:
                    best_cost = cost
                    best = c
    return best


@kernel
def rescue(
    inst: Inst, pats: Pats, rt: Routes, sc: Scratch, pop: Pop, params: Params, s: int
) -> None:
    """Make stored plan ``s`` feasible if leaving customers out can, and add it.

    Educated under a penalty above any leave-out cost, then the customers of routes still over
    a limit are left out, cheapest first, and the plan is educated again (which brings back
    whom it can place).
    """
    load(inst, rt, pop, s)
    for kind in range(3):
        rt.pen[kind] = RESCUE_PENALTY
    reprice(inst, rt)
    educate(inst, pats, rt, sc, pop.rng, params.max_rounds)
    while True:
        c = _cheapest_drop(inst, pats, rt)
        if c < 0:
            break
        for t in range(inst.days):
            if rt.at[t, c, ROUTE] >= 0:
                remove_visit(inst, rt, t, c)
        rt.pat[c] = pats.ptr[c + 1] - 1
    educate(inst, pats, rt, sc, pop.rng, params.max_rounds)
    add(inst, pats, rt, pop, params)
