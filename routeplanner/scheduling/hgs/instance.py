"""The periodic problem as flat arrays for the compiled search, and the search's state.

Location 0 is the depot, location ``c`` (1..n) is customer ``c - 1`` of the
:class:`~routeplanner.scheduling.periodic.PeriodicProblem`. A customer's options are *patterns*
(day combinations) in one flat table; a customer that may be left out gets one more pattern
without days whose cost is its drop penalty, so leaving out is just another pattern choice.

The data sit in few, packed arrays on purpose: numba passes every array of a tuple argument as
separate scalars, so each call costs in proportion to the arrays of its tuples. The hot route
evaluations take only :class:`Inst` and :class:`Routes`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from routeplanner.scheduling.periodic import PeriodicProblem

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
UIntArray = npt.NDArray[np.uint64]

GRANULAR = 20
"""Nearest same-day customers a customer's moves are tried with."""

# Columns of Inst.node, Inst.day, Routes.pre, Routes.agg, Routes.info, Routes.at
SVC, DEM = 0, 1
CAP, DMAX, SMAX, SOFT = 0, 1, 2, 3
P_DIST, P_REV, P_LOAD, P_SVC = 0, 1, 2, 3
A_DIST, A_LOAD, A_SVC, A_COST = 0, 1, 2, 3
LEN, MOD = 0, 1
ROUTE, POS = 0, 1


class Inst(NamedTuple):
    """Read-only data of routes: travel, visits, and the limits of each day's vehicles."""

    n: int
    days: int
    vmax: int
    otw: float  # overtime cost per unit of duration above the soft limit
    dist: FloatArray  # (n+1, n+1) travel: objective and duration
    node: FloatArray  # (n+1, 2) service time, demand
    day: FloatArray  # (days, 4) capacity, max duration, max stops, soft duration (inf = none)
    nveh: IntArray  # (days,) vehicles (routes) per day
    neigh: IntArray  # (n+1, n-1) other customers, nearest first (row 0 unused)


class Pats(NamedTuple):
    """Read-only pattern table: customer c's patterns are ptr[c] .. ptr[c+1]-1."""

    ptr: IntArray  # (n+2,)
    cost: FloatArray  # (P,) objective cost of choosing the pattern
    mask: BoolArray  # (P, days)
    dptr: IntArray  # (P+1,) days of pattern q are day[dptr[q] .. dptr[q+1]-1]
    day: IntArray
    cany: BoolArray  # (n+1, days) some pattern of the customer has the day


class Routes(NamedTuple):
    """One solution: routes by position (0 and len+1 are the depot, 1..len the customers).

    ``pre[t, r, p]`` holds, for positions before p, the travel (P_DIST, forwards up to p), the
    same path driven backwards (P_REV, so a reversed piece costs O(1) on asymmetric travel),
    demand and service; ``agg`` the route's totals and penalised cost under ``pen``.
    """

    node: IntArray  # (days, vmax, n+2)
    info: IntArray  # (days, vmax, 2) length, move counter at the last change
    pre: FloatArray  # (days, vmax, n+3, 4)
    agg: FloatArray  # (days, vmax, 4)
    at: IntArray  # (days, n+1, 2) route (-1 = not visited that day) and position
    pat: IntArray  # (n+1,) chosen pattern
    pen: FloatArray  # (3,) penalty per unit of excess load, duration, stops
    pcs: IntArray  # (2, 6, 4) pieces (route, from, to, reversed) of two new routes
    buf: IntArray  # (2, n+2) new routes being assembled
    ctr: IntArray  # (1,) move counter


class Scratch(NamedTuple):
    """Working space of the local search, the crossover and the split."""

    nbt: IntArray  # (n+1, GRANULAR) same-day neighbours
    nbn: IntArray  # (n+1,)
    order: IntArray  # (n+1,)
    utest: IntArray  # (days, n+1) move counter when the customer's moves were last tried
    dirty: BoolArray  # (days,)
    on: FloatArray  # (days,) pattern improvement: cost of visiting that day
    off: FloatArray  # (days,) cost of not visiting it
    insr: IntArray  # (days,) best route and position for a new visit
    insp: IntArray
    ctour: IntArray  # (days, n) child's visit order per day (crossover)
    cnv: IntArray  # (days,)
    smask: BoolArray  # (n+1, days) days a child customer got so far
    dayperm: IntArray  # (days,)
    pot: FloatArray  # (vmax+1, n+1) split labels
    prv: IntArray  # (vmax+1, n+1)
    pref: FloatArray  # (n+2, 3) split prefix sums: travel, demand, service
    top_cost: FloatArray  # (n+1, 3) SWAP*: cheapest insertions into the other route
    top_pos: IntArray  # (n+1, 3)
    near_routes: BoolArray  # (vmax, vmax) routes of a day that share near neighbours
    swtest: IntArray  # (days, vmax, vmax) move counter when the pair was last tried


def build_instance(problem: PeriodicProblem) -> tuple[Inst, Pats]:
    """Flatten ``problem``; every vehicle of one day must be alike and all share one depot."""
    custs = problem.customers
    n = len(custs)
    t_days = len(problem.days)
    depots = {v.depot for day in problem.days for v in day}
    if len(depots) > 1:
        msg = f"the periodic search needs one depot for all vehicles, got {sorted(depots)}"
        raise ValueError(msg)
    depot = depots.pop() if depots else 0
    nodes = np.array([depot, *(c.node for c in custs)], dtype=np.int64)
    dist = np.ascontiguousarray(problem.travel[np.ix_(nodes, nodes)], dtype=np.float64)
    node = np.zeros((n + 1, 2))
    node[1:, SVC] = [c.service for c in custs]
    node[1:, DEM] = [c.demand for c in custs]
    day = np.full((t_days, 4), math.inf)
    for t, vehicles in enumerate(problem.days):
        kinds = {(v.capacity, v.max_duration, v.max_stops, v.soft_duration) for v in vehicles}
        if len(kinds) > 1:
            msg = f"the periodic search needs alike vehicles on a day; day {t} has {len(kinds)}"
            raise ValueError(msg)
        if vehicles:
            v = vehicles[0]
            stops = float(v.max_stops) if v.max_stops < 1_000_000 else math.inf
            day[t] = (v.capacity, v.max_duration, stops, v.soft_duration)
    nveh = np.array([len(d) for d in problem.days], dtype=np.int64)
    sym = dist[1:, 1:] + dist[1:, 1:].T
    np.fill_diagonal(sym, np.inf)
    neigh = np.zeros((n + 1, max(0, n - 1)), dtype=np.int64)
    neigh[1:] = np.argsort(sym, axis=1, kind="stable")[:, : max(0, n - 1)] + 1
    inst = Inst(
        n=n,
        days=t_days,
        vmax=int(nveh.max()) if t_days else 0,
        otw=float(problem.overtime_weight),
        dist=dist,
        node=node,
        day=day,
        nveh=nveh,
        neigh=neigh,
    )
    return inst, _patterns(problem)


def _patterns(problem: PeriodicProblem) -> Pats:
    t_days = len(problem.days)
    ptr = [0, 0]
    cost: list[float] = []
    mask: list[list[bool]] = []
    dptr = [0]
    days: list[int] = []

    def add(combo: tuple[int, ...], price: float) -> None:
        cost.append(price)
        mask.append([t in combo for t in range(t_days)])
        days.extend(sorted(set(combo)))
        dptr.append(len(days))

    for cust in problem.customers:
        prices = cust.combo_costs or (0.0,) * len(cust.combos)
        for combo, price in zip(cust.combos, prices, strict=True):
            add(combo, float(price))
        if math.isfinite(cust.drop_penalty):
            add((), float(cust.drop_penalty))
        ptr.append(len(cost))
    pmask = np.array(mask, dtype=np.bool_).reshape(len(cost), t_days)
    n = len(problem.customers)
    cany = np.zeros((n + 1, t_days), dtype=np.bool_)
    for c in range(1, n + 1):
        cany[c] = pmask[ptr[c] : ptr[c + 1]].any(axis=0)
    return Pats(
        ptr=np.array(ptr, dtype=np.int64),
        cost=np.array(cost, dtype=np.float64),
        mask=pmask,
        dptr=np.array(dptr, dtype=np.int64),
        day=np.array(days, dtype=np.int64),
        cany=cany,
    )


def new_routes(inst: Inst) -> Routes:
    t, m, n = inst.days, max(1, inst.vmax), inst.n
    return Routes(
        node=np.zeros((t, m, n + 2), dtype=np.int64),
        info=np.zeros((t, m, 2), dtype=np.int64),
        pre=np.zeros((t, m, n + 3, 4)),
        agg=np.zeros((t, m, 4)),
        at=np.full((t, n + 1, 2), -1, dtype=np.int64),
        pat=np.full(n + 1, -1, dtype=np.int64),
        pen=np.ones(3),
        pcs=np.zeros((2, 6, 4), dtype=np.int64),
        buf=np.zeros((2, n + 2), dtype=np.int64),
        ctr=np.zeros(1, dtype=np.int64),
    )


def new_scratch(inst: Inst) -> Scratch:
    t, m, n = inst.days, max(1, inst.vmax), inst.n
    z = np.zeros
    return Scratch(
        nbt=z((n + 1, GRANULAR), dtype=np.int64),
        nbn=z(n + 1, dtype=np.int64),
        order=z(n + 1, dtype=np.int64),
        utest=np.full((t, n + 1), -1, dtype=np.int64),
        dirty=z(t, dtype=np.bool_),
        on=z(t),
        off=z(t),
        insr=z(t, dtype=np.int64),
        insp=z(t, dtype=np.int64),
        ctour=z((t, max(1, n)), dtype=np.int64),
        cnv=z(t, dtype=np.int64),
        smask=z((n + 1, t), dtype=np.bool_),
        dayperm=np.arange(t, dtype=np.int64),
        pot=z((m + 1, n + 1)),
        prv=z((m + 1, n + 1), dtype=np.int64),
        pref=z((n + 2, 3)),
        top_cost=z((n + 1, 3)),
        top_pos=z((n + 1, 3), dtype=np.int64),
        near_routes=z((m, m), dtype=np.bool_),
        swtest=z((t, m, m), dtype=np.int64),
    )
