"""Hybrid genetic search for periodic routing: islands side by side, in rounds of fixed size.

Each island is an independent population (its own seed) whose generation loop runs compiled
and without the interpreter lock, so islands use the cores in parallel threads. They advance in
rounds of a fixed number of plans; between rounds each island receives its neighbour's best
plan. Because a round's content depends only on the seed and the rounds before it, a run
stopped after the same number of rounds gives the same plan: a time limit only decides how many
rounds run, and an iteration limit makes the result reproducible.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from routeplanner.scheduling.hgs.genetic import rescue, run_steps, seed_plan
from routeplanner.scheduling.hgs.instance import (
    Inst,
    IntArray,
    Pats,
    Routes,
    Scratch,
    build_instance,
    new_routes,
    new_scratch,
)
from routeplanner.scheduling.hgs.population import Params, Pop, add, load, new_pop
from routeplanner.scheduling.periodic import (
    PeriodicCustomer,
    PeriodicProblem,
    PeriodicSolution,
    PeriodicVehicle,
)

ISLANDS = 2
"""Populations searched side by side (one per core of the target machine)."""
ROUND_VISITS = 4000
"""A round makes about this many visits' worth of plans per island (at least one plan)."""

Improvement = Callable[[float, PeriodicSolution], None]
"""``on_improve(seconds_since_start, plan)``: called after a round that found a better plan."""


@dataclass(slots=True)
class _Island:
    routes: Routes
    scratch: Scratch
    pop: Pop
    chosen: IntArray


def round_size(pats: Pats) -> int:
    """Plans per island per round: fewer for big problems, so rounds stay short."""
    first = pats.ptr[1:-1]
    visits = int((pats.dptr[first + 1] - pats.dptr[first]).sum())
    return max(1, min(100, ROUND_VISITS // max(1, visits)))


def solve_hgs(
    problem: PeriodicProblem,
    *,
    time_limit_s: float = 10.0,
    max_iterations: int | None = None,
    seed: int = 0,
    islands: int = ISLANDS,
    initial: Sequence[int | None] | None = None,
    progress: Callable[[float, float], None] | None = None,
    on_improve: Improvement | None = None,
    params: Params | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> PeriodicSolution:
    """Best feasible plan found in ``time_limit_s`` or after ``max_iterations`` plans per island.

    With ``max_iterations`` the result depends only on the problem and the seed (tests);
    ``initial`` (a combination index or None per customer) is added to every population first.
    ``clock`` measures the time limit (``time.process_time`` budgets CPU time instead, which
    compares runs on a shared machine).
    """
    start = clock()
    inst, pats = build_instance(problem)
    prm = params or Params()
    if inst.n == 0 or inst.days == 0:
        return _empty(problem)
    isles = [
        _Island(
            new_routes(inst),
            new_scratch(inst),
            new_pop(inst, prm, seed * 1_000_003 + k),
            _chosen(pats, None),
        )
        for k in range(max(1, islands))
    ]
    if initial is not None:
        for i in isles:
            seed_plan(inst, pats, i.routes, i.scratch, i.pop, prm, _chosen(pats, initial))
    steps = round_size(pats)
    done = 0
    best = math.inf
    round_s = 0.0
    cpu0 = time.process_time()
    with ThreadPoolExecutor(max_workers=min(len(isles), os.cpu_count() or 1)) as pool:
        while max_iterations is None or done < max_iterations:
            elapsed = clock() - start
            if max_iterations is None and elapsed + 0.5 * round_s >= time_limit_s:
                break
            todo = steps if max_iterations is None else min(steps, max_iterations - done)
            t0 = clock()
            jobs = [
                pool.submit(run_steps, inst, pats, i.routes, i.scratch, i.pop, prm, todo, i.chosen)
                for i in isles
            ]
            for job in jobs:
                job.result()
            round_s = clock() - t0
            done += todo
            _migrate(inst, pats, isles, prm)
            _rescue(inst, pats, isles, prm)
            top = min(float(i.pop.best[0]) for i in isles)
            if top < best:
                best = top
                if on_improve is not None:
                    on_improve(clock() - start, _solution(inst, pats, problem, isles))
            if progress is not None:
                frac = done / max_iterations if max_iterations else elapsed / time_limit_s
                progress(min(1.0, frac), best)
    sol = replace(_solution(inst, pats, problem, isles), iterations=done)
    sol.stats.update(
        {
            "iterations": float(done),
            "islands": float(len(isles)),
            "seconds": clock() - start,
            "cpu_seconds": time.process_time() - cpu0,
        }
    )
    return sol


def _chosen(pats: Pats, initial: Sequence[int | None] | None) -> IntArray:
    chosen = np.full(len(pats.ptr) - 1, -1, dtype=np.int64)
    if initial is not None:
        for c, k in enumerate(initial, start=1):
            if k is not None:
                chosen[c] = pats.ptr[c] + k
    return chosen


def _migrate(inst: Inst, pats: Pats, isles: list[_Island], prm: Params) -> None:
    """Each island receives its left neighbour's best plan when that is better than its own."""
    if len(isles) < 2:
        return
    bests = [float(i.pop.best[0]) for i in isles]
    for k, isle in enumerate(isles):
        src = isles[k - 1]
        if math.isfinite(bests[k - 1]) and bests[k - 1] < bests[k]:
            load(inst, isle.routes, src.pop, src.pop.dmat.shape[0] - 1)
            add(inst, pats, isle.routes, isle.pop, prm)


def _rescue(inst: Inst, pats: Pats, isles: list[_Island], prm: Params) -> None:
    """An island without a feasible plan gets its least penalised plan made feasible."""
    for isle in isles:
        pop = isle.pop
        if not math.isfinite(float(pop.best[0])) and pop.size[1] > 0:
            rescue(inst, pats, isle.routes, isle.scratch, pop, prm, _least_penalised(pop))


def _solution(
    inst: Inst, pats: Pats, problem: PeriodicProblem, isles: list[_Island]
) -> PeriodicSolution:
    """The best plan over all islands, as customer indices of ``problem``."""
    owner = min(isles, key=lambda i: float(i.pop.best[0]))
    pop = owner.pop
    s = pop.dmat.shape[0] - 1
    if not math.isfinite(float(pop.best[0])):
        s = _least_penalised(pop)
    routes: list[tuple[tuple[int, ...], ...]] = []
    travel = 0.0
    for t in range(inst.days):
        day: list[tuple[int, ...]] = []
        k = 0
        for r in range(len(problem.days[t])):
            ln = int(pop.rl[s, t, r])
            seq = [int(c) for c in pop.tour[s, t, k : k + ln]]
            k += ln
            day.append(tuple(c - 1 for c in seq))
            if seq:
                path = [0, *seq, 0]
                travel += float(inst.dist[path[:-1], path[1:]].sum())
        routes.append(tuple(day))
    combo: list[int | None] = []
    for c in range(1, inst.n + 1):
        k = int(pop.pat[s, c]) - int(pats.ptr[c])
        # Index len(combos) is the leave-out pattern.
        combo.append(k if k < len(problem.customers[c - 1].combos) else None)
    return PeriodicSolution(
        combo=tuple(combo),
        routes=tuple(routes),
        travel=travel,
        objective=float(pop.obj[s]),
        stats={"feasible": float(math.isfinite(float(pop.best[0])))},
    )


def _least_penalised(pop: Pop) -> int:
    mem = [int(pop.members[k, q]) for k in (0, 1) for q in range(int(pop.size[k]))]
    return min(mem, key=lambda s: float(pop.pcost[s]))


def _empty(problem: PeriodicProblem) -> PeriodicSolution:
    return PeriodicSolution(
        combo=tuple(None for _ in problem.customers),
        routes=tuple(tuple(() for _ in day) for day in problem.days),
        travel=0.0,
        objective=sum(c.drop_penalty for c in problem.customers),
    )


def warm_up() -> None:
    """Load the compiled search (compiling it on first use), so that a timed run does not pay.

    Solves a four-customer problem along every path: warm start, initial plans, crossover and
    migration between two islands.
    """
    xs = np.array([0.0, 1.0, 2.0, -1.0, -2.0])
    customers = tuple(
        PeriodicCustomer(node=i, service=1.0, demand=1.0, combos=((0,), (1,))) for i in range(1, 5)
    )
    days = tuple((PeriodicVehicle(depot=0, capacity=3.0, max_duration=20.0),) * 2 for _ in range(2))
    problem = PeriodicProblem(
        travel=np.abs(xs[:, None] - xs[None, :]), customers=customers, days=days
    )
    solve_hgs(problem, max_iterations=6, initial=(0, 0, 1, None), params=Params(n_init=2))
