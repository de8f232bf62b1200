"""Compiled route bookkeeping: costs, rebuilding a route, pieces of routes, split, insertion.

Every move of the local search describes its new routes as up to six *pieces* of current
routes (a position range, maybe reversed) glued together; the cost of such a route follows in
O(pieces) from the prefix sums of :class:`~routeplanner.scheduling.hgs.instance.Work`, and the
same description rebuilds the route when the move is taken. A route's cost is its travel plus
overtime above the soft limit plus penalties for excess load, duration and stops, so the search
can cross infeasible space (penalties are adapted by the genetic search).
"""

from __future__ import annotations

import numpy as np

from routeplanner.scheduling.hgs.compiled import kernel
from routeplanner.scheduling.hgs.instance import (
    A_COST,
    A_DIST,
    A_LOAD,
    A_SVC,
    CAP,
    DEM,
    DMAX,
    LEN,
    MOD,
    P_DIST,
    P_LOAD,
    P_REV,
    P_SVC,
    POS,
    ROUTE,
    SMAX,
    SOFT,
    SVC,
    FloatArray,
    Inst,
    IntArray,
    Routes,
    Scratch,
    UIntArray,
)

EPS = 1e-7
"""Smallest gain a move must make (travel is in the problem's units, typically >= 1e-3)."""


@kernel
def next_u64(state: UIntArray) -> np.uint64:
    """splitmix64 step on ``state[0]``: each island owns its stream, so chunked runs repeat."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return np.uint64(z ^ (z >> np.uint64(31)))


@kernel
def rand_int(state: UIntArray, bound: int) -> int:
    """Uniform integer in ``[0, bound)`` (``bound`` >= 1)."""
    # np.int64, not int(): numba keeps uint64 under int(), and uint64 mixed with int64 is float.
    return int(np.int64(next_u64(state) % np.uint64(bound)))


@kernel
def rand_unit(state: UIntArray) -> float:
    return float(next_u64(state) >> np.uint64(11)) / 9007199254740992.0


@kernel
def shuffle(state: UIntArray, arr: IntArray, k: int) -> None:
    for i in range(k - 1, 0, -1):
        j = rand_int(state, i + 1)
        arr[i], arr[j] = arr[j], arr[i]


@kernel
def route_cost(
    inst: Inst, pen: FloatArray, t: int, dist: float, load: float, svc: float, cnt: int
) -> float:
    if cnt == 0:
        return 0.0
    dur = dist + svc
    c = dist
    lim = inst.day[t]
    if dur > lim[SOFT]:
        c += inst.otw * (dur - lim[SOFT])
    if dur > lim[DMAX]:
        c += pen[1] * (dur - lim[DMAX])
    if load > lim[CAP]:
        c += pen[0] * (load - lim[CAP])
    if cnt > lim[SMAX]:
        c += pen[2] * (cnt - lim[SMAX])
    return c


@kernel
def set_route(inst: Inst, rt: Routes, t: int, r: int, seq: IntArray, length: int) -> None:
    """Make route ``r`` of day ``t`` the node sequence ``seq[:length]`` (depot at both ends)."""
    d = 0.0
    rv = 0.0
    ld = 0.0
    sv = 0.0
    pre = rt.pre[t, r]
    pre[0, P_LOAD] = 0.0
    pre[0, P_SVC] = 0.0
    prev = 0
    for p in range(length):
        node = seq[p]
        rt.node[t, r, p] = node
        if p > 0:
            d += inst.dist[prev, node]
            rv += inst.dist[node, prev]
        pre[p, P_DIST] = d
        pre[p, P_REV] = rv
        ld += inst.node[node, DEM]
        sv += inst.node[node, SVC]
        pre[p + 1, P_LOAD] = ld
        pre[p + 1, P_SVC] = sv
        if 0 < p < length - 1:
            rt.at[t, node, ROUTE] = r
            rt.at[t, node, POS] = p
        prev = node
    rt.info[t, r, LEN] = length - 2
    rt.agg[t, r, A_DIST] = d
    rt.agg[t, r, A_LOAD] = ld
    rt.agg[t, r, A_SVC] = sv
    rt.agg[t, r, A_COST] = route_cost(inst, rt.pen, t, d, ld, sv, length - 2)
    rt.ctr[0] += 1
    rt.info[t, r, MOD] = rt.ctr[0]


@kernel
def empty_route(inst: Inst, rt: Routes, t: int, r: int) -> None:
    rt.buf[0, 0] = 0
    rt.buf[0, 1] = 0
    set_route(inst, rt, t, r, rt.buf[0], 2)


@kernel
def reprice(inst: Inst, rt: Routes) -> None:
    """Recompute route costs after ``rt.pen`` changed."""
    for t in range(inst.days):
        for r in range(inst.nveh[t]):
            a = rt.agg[t, r]
            ln = rt.info[t, r, LEN]
            a[A_COST] = route_cost(inst, rt.pen, t, a[A_DIST], a[A_LOAD], a[A_SVC], ln)


@kernel
def set_piece(rt: Routes, slot: int, i: int, r: int, a: int, b: int, rev: int) -> None:
    rt.pcs[slot, i, 0] = r
    rt.pcs[slot, i, 1] = a
    rt.pcs[slot, i, 2] = b
    rt.pcs[slot, i, 3] = rev


@kernel
def eval_pieces(inst: Inst, rt: Routes, t: int, slot: int, k: int) -> float:
    """Cost of the route made of pieces ``rt.pcs[slot, :k]`` (empty pieces have from > to)."""
    dist = 0.0
    load = 0.0
    svc = 0.0
    cnt = 0
    prev = -1
    for i in range(k):
        r = rt.pcs[slot, i, 0]
        a = rt.pcs[slot, i, 1]
        b = rt.pcs[slot, i, 2]
        if a > b:
            continue
        pre = rt.pre[t, r]
        if rt.pcs[slot, i, 3]:
            first = rt.node[t, r, b]
            last = rt.node[t, r, a]
            dist += pre[b, P_REV] - pre[a, P_REV]
        else:
            first = rt.node[t, r, a]
            last = rt.node[t, r, b]
            dist += pre[b, P_DIST] - pre[a, P_DIST]
        if prev >= 0:
            dist += inst.dist[prev, first]
        prev = last
        load += pre[b + 1, P_LOAD] - pre[a, P_LOAD]
        svc += pre[b + 1, P_SVC] - pre[a, P_SVC]
        cnt += b - a + 1
        if a == 0:
            cnt -= 1
        if b == rt.info[t, r, LEN] + 1:
            cnt -= 1
    return route_cost(inst, rt.pen, t, dist, load, svc, cnt)


@kernel
def _assemble(rt: Routes, t: int, slot: int, k: int) -> int:
    out = rt.buf[slot]
    n = 0
    for i in range(k):
        r = rt.pcs[slot, i, 0]
        a = rt.pcs[slot, i, 1]
        b = rt.pcs[slot, i, 2]
        if a > b:
            continue
        if rt.pcs[slot, i, 3]:
            for p in range(b, a - 1, -1):
                out[n] = rt.node[t, r, p]
                n += 1
        else:
            for p in range(a, b + 1):
                out[n] = rt.node[t, r, p]
                n += 1
    return n


@kernel
def apply_pieces(inst: Inst, rt: Routes, t: int, ra: int, ka: int, rb: int, kb: int) -> None:
    """Rebuild route ``ra`` from slot 0 and (if ``rb`` >= 0) route ``rb`` from slot 1."""
    na = _assemble(rt, t, 0, ka)
    nb = _assemble(rt, t, 1, kb) if rb >= 0 else 0
    set_route(inst, rt, t, ra, rt.buf[0], na)
    if rb >= 0:
        set_route(inst, rt, t, rb, rt.buf[1], nb)


@kernel
def best_insertion(inst: Inst, rt: Routes, t: int, c: int) -> tuple[float, int, int]:
    """Cheapest (cost change, route, position after which) to add ``c`` on day ``t``.

    Load, service and stops of a route do not depend on the position, and the route cost grows
    with travel, so the cheapest position is the one adding least travel.
    """
    best = np.inf
    best_r = -1
    best_p = -1
    seen_empty = False
    for r in range(inst.nveh[t]):
        ln = rt.info[t, r, LEN]
        if ln == 0:
            if seen_empty:
                continue
            seen_empty = True
        add = np.inf
        pos = 0
        seq = rt.node[t, r]
        for p in range(ln + 1):
            a = seq[p]
            b = seq[p + 1]
            d = inst.dist[a, c] + inst.dist[c, b] - inst.dist[a, b]
            if d < add:
                add = d
                pos = p
        agg = rt.agg[t, r]
        new = route_cost(
            inst,
            rt.pen,
            t,
            agg[A_DIST] + add,
            agg[A_LOAD] + inst.node[c, DEM],
            agg[A_SVC] + inst.node[c, SVC],
            ln + 1,
        )
        delta = new - agg[A_COST]
        if delta < best:
            best = delta
            best_r = r
            best_p = pos
    return best, best_r, best_p


@kernel
def removal_delta(inst: Inst, rt: Routes, t: int, c: int) -> float:
    """Cost change of taking ``c`` out of its route on day ``t``."""
    r = rt.at[t, c, ROUTE]
    p = rt.at[t, c, POS]
    a = rt.node[t, r, p - 1]
    b = rt.node[t, r, p + 1]
    agg = rt.agg[t, r]
    d = agg[A_DIST] - inst.dist[a, c] - inst.dist[c, b] + inst.dist[a, b]
    new = route_cost(
        inst,
        rt.pen,
        t,
        d,
        agg[A_LOAD] - inst.node[c, DEM],
        agg[A_SVC] - inst.node[c, SVC],
        rt.info[t, r, LEN] - 1,
    )
    return float(new - agg[A_COST])


@kernel
def insert_at(inst: Inst, rt: Routes, t: int, c: int, r: int, p: int) -> None:
    """Put ``c`` after position ``p`` of route ``r`` on day ``t``."""
    ln = rt.info[t, r, LEN]
    out = rt.buf[0]
    for q in range(p + 1):
        out[q] = rt.node[t, r, q]
    out[p + 1] = c
    for q in range(p + 1, ln + 2):
        out[q + 1] = rt.node[t, r, q]
    set_route(inst, rt, t, r, out, ln + 3)


@kernel
def remove_visit(inst: Inst, rt: Routes, t: int, c: int) -> None:
    r = rt.at[t, c, ROUTE]
    p = rt.at[t, c, POS]
    ln = rt.info[t, r, LEN]
    out = rt.buf[0]
    k = 0
    for q in range(ln + 2):
        if q != p:
            out[k] = rt.node[t, r, q]
            k += 1
    rt.at[t, c, ROUTE] = -1
    set_route(inst, rt, t, r, out, k)


@kernel
def split_day(inst: Inst, rt: Routes, sc: Scratch, t: int, tour: IntArray, nv: int) -> None:
    """Cut the visit order ``tour[:nv]`` of day ``t`` into at most ``nveh[t]`` routes, cheapest
    under the current penalties (Bellman over cut points), and make them the day's routes.

    Routes are not grown past 1.5 times a limit (they would be priced far out); when that leaves
    no way to cover the day with its vehicles, the bound is dropped.
    """
    m = inst.nveh[t]
    for c in range(inst.n + 1):
        rt.at[t, c, ROUTE] = -1
    if nv == 0 or m == 0:
        for r in range(m):
            empty_route(inst, rt, t, r)
        return
    pref = sc.pref
    pref[0, 0] = 0.0
    pref[0, 1] = 0.0
    pref[0, 2] = 0.0
    for p in range(nv):
        pref[p + 1, 0] = pref[p, 0] + (inst.dist[tour[p - 1], tour[p]] if p > 0 else 0.0)
        pref[p + 1, 1] = pref[p, 1] + inst.node[tour[p], DEM]
        pref[p + 1, 2] = pref[p, 2] + inst.node[tour[p], SVC]
    for bounded in (True, False):
        _split_labels(inst, rt, sc, t, tour, nv, m, bounded)
        if np.isfinite(sc.pot[m, nv]):
            break
    r = m
    j = nv
    used = 0
    while j > 0:
        i = sc.prv[r, j]
        r -= 1
        if i == j:
            continue
        k = 1
        rt.buf[0, 0] = 0
        for p in range(i, j):
            rt.buf[0, k] = tour[p]
            k += 1
        rt.buf[0, k] = 0
        set_route(inst, rt, t, used, rt.buf[0], k + 1)
        used += 1
        j = i
    for q in range(used, m):
        empty_route(inst, rt, t, q)


@kernel
def _split_labels(
    inst: Inst, rt: Routes, sc: Scratch, t: int, tour: IntArray, nv: int, m: int, bounded: bool
) -> None:
    """``pot[k, j]``: cheapest cover of the first j visits by at most k routes (k-1 may idle).

    ``pref[p]`` sums travel between, demand and service of the first p visits.
    """
    pot, prv, pref = sc.pot, sc.prv, sc.pref
    lim = inst.day[t]
    for k in range(m + 1):
        for j in range(nv + 1):
            pot[k, j] = np.inf
            prv[k, j] = -1
    pot[0, 0] = 0.0
    for k in range(m):
        # A vehicle may stay home: carry the labels of k routes over to k + 1.
        for j in range(nv + 1):
            if pot[k, j] < pot[k + 1, j]:
                pot[k + 1, j] = pot[k, j]
                prv[k + 1, j] = j
        for i in range(nv):
            if not np.isfinite(pot[k, i]):
                continue
            first = tour[i]
            for j in range(i + 1, nv + 1):
                d = inst.dist[0, first] + pref[j, 0] - pref[i + 1, 0] + inst.dist[tour[j - 1], 0]
                ld = pref[j, 1] - pref[i, 1]
                sv = pref[j, 2] - pref[i, 2]
                cost = pot[k, i] + route_cost(inst, rt.pen, t, d, ld, sv, j - i)
                if cost < pot[k + 1, j]:
                    pot[k + 1, j] = cost
                    prv[k + 1, j] = i
                too_long = d + sv > 1.5 * lim[DMAX] or j - i > 1.5 * lim[SMAX]
                if bounded and (ld > 1.5 * lim[CAP] or too_long):
                    break
