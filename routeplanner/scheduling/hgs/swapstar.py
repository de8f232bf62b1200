"""Compiled SWAP* between two routes of a day (Vidal 2022): exchange u and v, each going to its
cheapest position in the other route rather than to the other's place.

For every u of route A the three cheapest insertion points into B are found once; the best
place for u in B without v is then one of those three that does not touch v, or v's own place.
Only route pairs that share near neighbours are tried (the routes of a day overlap there), and
a pair is tried again only when one of its routes changed.
"""

from __future__ import annotations

import numpy as np

from routeplanner.scheduling.hgs.compiled import inlined, kernel
from routeplanner.scheduling.hgs.instance import (
    A_COST,
    A_DIST,
    A_LOAD,
    A_SVC,
    DEM,
    LEN,
    MOD,
    ROUTE,
    SVC,
    Inst,
    Routes,
    Scratch,
)
from routeplanner.scheduling.hgs.routes import EPS, route_cost, set_route


@kernel
def _top3(inst: Inst, rt: Routes, sc: Scratch, t: int, c: int, r: int) -> None:
    """The three cheapest travel additions (and positions after which) of ``c`` into route r."""
    d = inst.dist
    nd = rt.node[t, r]
    for k in range(3):
        sc.top_cost[c, k] = np.inf
        sc.top_pos[c, k] = -1
    for p in range(rt.info[t, r, LEN] + 1):
        a = nd[p]
        b = nd[p + 1]
        add = d[a, c] + d[c, b] - d[a, b]
        if add < sc.top_cost[c, 2]:
            k = 2
            while k > 0 and sc.top_cost[c, k - 1] > add:
                sc.top_cost[c, k] = sc.top_cost[c, k - 1]
                sc.top_pos[c, k] = sc.top_pos[c, k - 1]
                k -= 1
            sc.top_cost[c, k] = add
            sc.top_pos[c, k] = p


@inlined
def _place_without(
    inst: Inst, rt: Routes, sc: Scratch, t: int, c: int, r: int, j: int
) -> tuple[float, int]:
    """Cheapest travel addition (and position after which, in the route with position j
    removed) of ``c`` into route r once the customer at position j leaves it."""
    d = inst.dist
    nd = rt.node[t, r]
    best = d[nd[j - 1], c] + d[c, nd[j + 1]] - d[nd[j - 1], nd[j + 1]]
    pos = j - 1
    for k in range(3):
        p = sc.top_pos[c, k]
        if p < 0:
            break
        if p == j - 1 or p == j:
            continue
        if sc.top_cost[c, k] < best:
            best = sc.top_cost[c, k]
            pos = p if p < j else p - 1
        break
    return best, pos


@kernel
def _best_swap(inst: Inst, rt: Routes, sc: Scratch, t: int, ra: int, rb: int) -> bool:
    """Find and take the best SWAP* between routes ``ra`` and ``rb``; whether one gained."""
    d = inst.dist
    na = rt.node[t, ra]
    nb = rt.node[t, rb]
    la = rt.info[t, ra, LEN]
    lb = rt.info[t, rb, LEN]
    for i in range(1, la + 1):
        _top3(inst, rt, sc, t, na[i], rb)
    for j in range(1, lb + 1):
        _top3(inst, rt, sc, t, nb[j], ra)
    ga = rt.agg[t, ra]
    gb = rt.agg[t, rb]
    base = ga[A_COST] + gb[A_COST]
    best = -EPS
    bi = -1
    bj = -1
    bpu = 0
    bpv = 0
    for i in range(1, la + 1):
        u = na[i]
        rem_u = d[na[i - 1], na[i + 1]] - d[na[i - 1], u] - d[u, na[i + 1]]
        for j in range(1, lb + 1):
            v = nb[j]
            rem_v = d[nb[j - 1], nb[j + 1]] - d[nb[j - 1], v] - d[v, nb[j + 1]]
            add_u, pu = _place_without(inst, rt, sc, t, u, rb, j)
            add_v, pv = _place_without(inst, rt, sc, t, v, ra, i)
            dist_a = ga[A_DIST] + rem_u + add_v
            dist_b = gb[A_DIST] + rem_v + add_u
            if dist_a + dist_b - base >= best:
                continue  # a route never costs less than its travel
            du = inst.node[u]
            dv = inst.node[v]
            new = route_cost(
                inst,
                rt.pen,
                t,
                dist_a,
                ga[A_LOAD] - du[DEM] + dv[DEM],
                ga[A_SVC] - du[SVC] + dv[SVC],
                la,
            )
            new += route_cost(
                inst,
                rt.pen,
                t,
                dist_b,
                gb[A_LOAD] - dv[DEM] + du[DEM],
                gb[A_SVC] - dv[SVC] + du[SVC],
                lb,
            )
            if new - base < best:
                best = new - base
                bi, bj, bpu, bpv = i, j, pu, pv
    if bi < 0:
        return False
    _rebuild(rt, t, ra, bi, nb[bj], bpv, 0)
    _rebuild(rt, t, rb, bj, na[bi], bpu, 1)
    set_route(inst, rt, t, ra, rt.buf[0], la + 2)
    set_route(inst, rt, t, rb, rt.buf[1], lb + 2)
    return True


@kernel
def _rebuild(rt: Routes, t: int, r: int, out_pos: int, c: int, after: int, slot: int) -> None:
    """Route r without its position ``out_pos`` and with ``c`` after position ``after`` of the
    shortened route, into ``rt.buf[slot]``."""
    nd = rt.node[t, r]
    buf = rt.buf[slot]
    k = 0
    for p in range(rt.info[t, r, LEN] + 2):
        if p == out_pos:
            continue
        buf[k] = nd[p]
        k += 1
        if k - 1 == after:
            buf[k] = c
            k += 1


@kernel
def swap_star_pass(inst: Inst, rt: Routes, sc: Scratch, t: int, first: bool) -> bool:
    """SWAP* over the route pairs of day ``t`` that share near neighbours; whether any gained."""
    m = inst.nveh[t]
    if m < 2:
        return False
    near = sc.near_routes
    for a in range(m):
        for b in range(m):
            near[a, b] = False
    for u in range(1, inst.n + 1):
        ru = rt.at[t, u, ROUTE]
        if ru < 0:
            continue
        for z in range(sc.nbn[u]):
            rv = rt.at[t, sc.nbt[u, z], ROUTE]
            near[ru, rv] = True
            near[rv, ru] = True
    changed = False
    for a in range(m):
        for b in range(a + 1, m):
            if not near[a, b] or rt.info[t, a, LEN] == 0 or rt.info[t, b, LEN] == 0:
                continue
            mod = max(rt.info[t, a, MOD], rt.info[t, b, MOD])
            if not first and mod <= sc.swtest[t, a, b]:
                continue
            sc.swtest[t, a, b] = rt.ctr[0]
            if _best_swap(inst, rt, sc, t, a, b):
                changed = True
    return changed
