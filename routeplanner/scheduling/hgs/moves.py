"""Compiled route improvement on one day: relocate, swap, 2-opt and 2-opt* on near neighbours.

For a customer ``u`` and each of its nearest customers ``v`` visited the same day, the moves
below are tried in order and the first that lowers the penalised cost is taken (u after v
means "insert u between v and v's successor"):

* relocate u, the pair (u, x) or the reversed pair (x, u) after v (x = u's successor);
* swap u with v, (u, x) with v, (u, x) with (v, y) (y = v's successor);
* inside one route: 2-opt (reverse x .. v); between routes: 2-opt* both ways (exchange tails,
  or join u's head to v's reversed head).

Most moves lose, so each is first priced by its change in travel alone: a route never costs
less than its travel, so a move whose travel change exceeds the routes' penalty and overtime
cannot gain and is not evaluated further. A pair is skipped when neither route changed since
u was last tried (the moves cannot have become better), so passes after the first cost little.
"""

from __future__ import annotations

from routeplanner.scheduling.hgs.compiled import inlined, kernel
from routeplanner.scheduling.hgs.instance import (
    A_COST,
    A_DIST,
    GRANULAR,
    LEN,
    MOD,
    P_DIST,
    P_REV,
    POS,
    ROUTE,
    Inst,
    Routes,
    Scratch,
    UIntArray,
)
from routeplanner.scheduling.hgs.routes import (
    EPS,
    apply_pieces,
    eval_pieces,
    set_piece,
    shuffle,
)
from routeplanner.scheduling.hgs.swapstar import swap_star_pass


@inlined
def _extra(rt: Routes, t: int, r: int) -> float:
    """What route ``r`` costs beyond its travel (penalties, overtime)."""
    return float(rt.agg[t, r, A_COST] - rt.agg[t, r, A_DIST])


@kernel
def _try2(inst: Inst, rt: Routes, t: int, ra: int, ka: int, rb: int, kb: int) -> bool:
    """Take the move whose pieces are set (route ``ra`` from slot 0, ``rb`` from slot 1)."""
    base = rt.agg[t, ra, A_COST] + rt.agg[t, rb, A_COST]
    new = eval_pieces(inst, rt, t, 0, ka)
    if new - rt.agg[t, ra, A_COST] >= rt.agg[t, rb, A_COST] - EPS:
        return False
    new += eval_pieces(inst, rt, t, 1, kb)
    if new < base - EPS:
        apply_pieces(inst, rt, t, ra, ka, rb, kb)
        return True
    return False


@kernel
def _try1(inst: Inst, rt: Routes, t: int, r: int, k: int) -> bool:
    if eval_pieces(inst, rt, t, 0, k) < rt.agg[t, r, A_COST] - EPS:
        apply_pieces(inst, rt, t, r, k, -1, 0)
        return True
    return False


@inlined
def _relocations(inst: Inst, rt: Routes, t: int, r1: int, i: int, r2: int, j: int) -> bool:
    """u (at i of r1), (u, x) or (x, u) after v (at j of r2 != r1, maybe the start depot)."""
    d = inst.dist
    e1 = rt.info[t, r1, LEN] + 1
    e2 = rt.info[t, r2, LEN] + 1
    n1 = rt.node[t, r1]
    pu, u, x = n1[i - 1], n1[i], n1[i + 1]
    v, y = rt.node[t, r2, j], rt.node[t, r2, j + 1]
    slack = _extra(rt, t, r1) + _extra(rt, t, r2) - EPS
    if d[pu, x] - d[pu, u] - d[u, x] + d[v, u] + d[u, y] - d[v, y] < slack:
        set_piece(rt, 0, 0, r1, 0, i - 1, 0)
        set_piece(rt, 0, 1, r1, i + 1, e1, 0)
        set_piece(rt, 1, 0, r2, 0, j, 0)
        set_piece(rt, 1, 1, r1, i, i, 0)
        set_piece(rt, 1, 2, r2, j + 1, e2, 0)
        if _try2(inst, rt, t, r1, 2, r2, 3):
            return True
    if i + 1 >= e1:
        return False
    xx = n1[i + 2]
    out = d[pu, xx] - d[pu, u] - d[x, xx] - d[v, y]
    for rev in (0, 1):
        # (x, u) reversed after v, or (u, x) as it is
        gain = out + (d[v, x] + d[x, u] + d[u, y] - d[u, x] if rev else d[v, u] + d[x, y])
        if gain < slack:
            set_piece(rt, 0, 0, r1, 0, i - 1, 0)
            set_piece(rt, 0, 1, r1, i + 2, e1, 0)
            set_piece(rt, 1, 0, r2, 0, j, 0)
            set_piece(rt, 1, 1, r1, i, i + 1, rev)
            set_piece(rt, 1, 2, r2, j + 1, e2, 0)
            if _try2(inst, rt, t, r1, 2, r2, 3):
                return True
    return False


@inlined
def _swaps(inst: Inst, rt: Routes, t: int, r1: int, i: int, r2: int, j: int) -> bool:
    """u with v, (u, x) with v, (u, x) with (v, y); v a customer of another route."""
    d = inst.dist
    e1 = rt.info[t, r1, LEN] + 1
    e2 = rt.info[t, r2, LEN] + 1
    n1 = rt.node[t, r1]
    n2 = rt.node[t, r2]
    slack = _extra(rt, t, r1) + _extra(rt, t, r2) - EPS
    for lu in (1, 2):
        for lv in (1, 2):
            if lv > lu or i + lu - 1 >= e1 or j + lv - 1 >= e2:
                continue
            pu, u, xu, nu = n1[i - 1], n1[i], n1[i + lu - 1], n1[i + lu]
            pv, v, yv, nv = n2[j - 1], n2[j], n2[j + lv - 1], n2[j + lv]
            delta = d[pu, v] + d[yv, nu] - d[pu, u] - d[xu, nu]
            delta += d[pv, u] + d[xu, nv] - d[pv, v] - d[yv, nv]
            if delta >= slack:
                continue
            set_piece(rt, 0, 0, r1, 0, i - 1, 0)
            set_piece(rt, 0, 1, r2, j, j + lv - 1, 0)
            set_piece(rt, 0, 2, r1, i + lu, e1, 0)
            set_piece(rt, 1, 0, r2, 0, j - 1, 0)
            set_piece(rt, 1, 1, r1, i, i + lu - 1, 0)
            set_piece(rt, 1, 2, r2, j + lv, e2, 0)
            if _try2(inst, rt, t, r1, 3, r2, 3):
                return True
    return False


@inlined
def _two_opt_star(inst: Inst, rt: Routes, t: int, r1: int, i: int, r2: int, j: int) -> bool:
    """Replace arcs (u, x) and (v, y) by (u, y) and (v, x), or by (u, v) and (x, y)."""
    d = inst.dist
    e1 = rt.info[t, r1, LEN] + 1
    e2 = rt.info[t, r2, LEN] + 1
    u, x = rt.node[t, r1, i], rt.node[t, r1, i + 1]
    v, y = rt.node[t, r2, j], rt.node[t, r2, j + 1]
    slack = _extra(rt, t, r1) + _extra(rt, t, r2) - EPS
    if d[u, y] + d[v, x] - d[u, x] - d[v, y] < slack:
        set_piece(rt, 0, 0, r1, 0, i, 0)
        set_piece(rt, 0, 1, r2, j + 1, e2, 0)
        set_piece(rt, 1, 0, r2, 0, j, 0)
        set_piece(rt, 1, 1, r1, i + 1, e1, 0)
        if _try2(inst, rt, t, r1, 2, r2, 2):
            return True
    p1 = rt.pre[t, r1]
    p2 = rt.pre[t, r2]
    head = p1[i, P_DIST] + d[u, v] + p2[j, P_REV]
    tail = p1[e1, P_REV] - p1[i + 1, P_REV] + d[x, y] + p2[e2, P_DIST] - p2[j + 1, P_DIST]
    if head + tail - rt.agg[t, r1, A_DIST] - rt.agg[t, r2, A_DIST] >= slack:
        return False
    set_piece(rt, 0, 0, r1, 0, i, 0)
    set_piece(rt, 0, 1, r2, 0, j, 1)
    set_piece(rt, 1, 0, r1, i + 1, e1, 1)
    set_piece(rt, 1, 1, r2, j + 1, e2, 0)
    return _try2(inst, rt, t, r1, 2, r2, 2)


@inlined
def _intra_relocations(inst: Inst, rt: Routes, t: int, r: int, i: int, j: int) -> bool:
    """Same route: u, (u, x) or (x, u) after v (j != i)."""
    d = inst.dist
    e = rt.info[t, r, LEN] + 1
    nd = rt.node[t, r]
    pu, u, x, v, y = nd[i - 1], nd[i], nd[i + 1], nd[j], nd[j + 1]
    slack = _extra(rt, t, r) - EPS
    if j != i - 1 and d[pu, x] - d[pu, u] - d[u, x] + d[v, u] + d[u, y] - d[v, y] < slack:
        if j < i:
            set_piece(rt, 0, 0, r, 0, j, 0)
            set_piece(rt, 0, 1, r, i, i, 0)
            set_piece(rt, 0, 2, r, j + 1, i - 1, 0)
            set_piece(rt, 0, 3, r, i + 1, e, 0)
        else:
            set_piece(rt, 0, 0, r, 0, i - 1, 0)
            set_piece(rt, 0, 1, r, i + 1, j, 0)
            set_piece(rt, 0, 2, r, i, i, 0)
            set_piece(rt, 0, 3, r, j + 1, e, 0)
        if _try1(inst, rt, t, r, 4):
            return True
    if i + 1 >= e or i - 1 <= j <= i + 1:
        return False
    xx = nd[i + 2]
    out = d[pu, xx] - d[pu, u] - d[x, xx] - d[v, y]
    for rev in (0, 1):
        # (x, u) reversed after v, or (u, x) as it is
        gain = out + (d[v, x] + d[x, u] + d[u, y] - d[u, x] if rev else d[v, u] + d[x, y])
        if gain >= slack:
            continue
        if j < i:
            set_piece(rt, 0, 0, r, 0, j, 0)
            set_piece(rt, 0, 1, r, i, i + 1, rev)
            set_piece(rt, 0, 2, r, j + 1, i - 1, 0)
            set_piece(rt, 0, 3, r, i + 2, e, 0)
        else:
            set_piece(rt, 0, 0, r, 0, i - 1, 0)
            set_piece(rt, 0, 1, r, i + 2, j, 0)
            set_piece(rt, 0, 2, r, i, i + 1, rev)
            set_piece(rt, 0, 3, r, j + 1, e, 0)
        if _try1(inst, rt, t, r, 4):
            return True
    return False


@inlined
def _intra_swaps(inst: Inst, rt: Routes, t: int, r: int, i: int, j: int) -> bool:
    """Same route: u with v, (u, x) with v, (u, x) with (v, y); v a customer, j != i."""
    d = inst.dist
    e = rt.info[t, r, LEN] + 1
    nd = rt.node[t, r]
    slack = _extra(rt, t, r) - EPS
    for lu in (1, 2):
        for lv in (1, 2):
            if lv > lu or i + lu - 1 >= e or j + lv - 1 >= e:
                continue
            a, la, b, lb = (i, lu, j, lv) if i < j else (j, lv, i, lu)
            if a + la > b:
                continue
            pa, fa, ta, na = nd[a - 1], nd[a], nd[a + la - 1], nd[a + la]
            pb, fb, tb, nb = nd[b - 1], nd[b], nd[b + lb - 1], nd[b + lb]
            if a + la == b:  # adjacent: pa, A, B, nb becomes pa, B, A, nb
                delta = d[pa, fb] + d[tb, fa] + d[ta, nb] - d[pa, fa] - d[ta, fb] - d[tb, nb]
            else:
                delta = d[pa, fb] + d[tb, na] + d[pb, fa] + d[ta, nb]
                delta -= d[pa, fa] + d[ta, na] + d[pb, fb] + d[tb, nb]
            if delta >= slack:
                continue
            set_piece(rt, 0, 0, r, 0, a - 1, 0)
            set_piece(rt, 0, 1, r, b, b + lb - 1, 0)
            set_piece(rt, 0, 2, r, a + la, b - 1, 0)
            set_piece(rt, 0, 3, r, a, a + la - 1, 0)
            set_piece(rt, 0, 4, r, b + lb, e, 0)
            if _try1(inst, rt, t, r, 5):
                return True
    return False


@inlined
def _two_opt(inst: Inst, rt: Routes, t: int, r: int, i: int, j: int) -> bool:
    """Same route, i before j: reverse the path from i + 1 to j."""
    if j <= i + 1:
        return False
    d = inst.dist
    nd = rt.node[t, r]
    pre = rt.pre[t, r]
    u, x, v, y = nd[i], nd[i + 1], nd[j], nd[j + 1]
    turn = pre[j, P_REV] - pre[i + 1, P_REV] - pre[j, P_DIST] + pre[i + 1, P_DIST]
    if d[u, v] + d[x, y] - d[u, x] - d[v, y] + turn >= _extra(rt, t, r) - EPS:
        return False
    set_piece(rt, 0, 0, r, 0, i, 0)
    set_piece(rt, 0, 1, r, i + 1, j, 1)
    set_piece(rt, 0, 2, r, j + 1, rt.info[t, r, LEN] + 1, 0)
    return _try1(inst, rt, t, r, 3)


@inlined
def _pair_moves(inst: Inst, rt: Routes, t: int, u: int, r2: int, j: int) -> bool:
    """Every move of customer ``u`` with position ``j`` of route ``r2`` (j = 0: after the depot)."""
    r1 = rt.at[t, u, ROUTE]
    i = rt.at[t, u, POS]
    if r1 != r2:
        if _relocations(inst, rt, t, r1, i, r2, j):
            return True
        if j > 0 and _swaps(inst, rt, t, r1, i, r2, j):
            return True
        return _two_opt_star(inst, rt, t, r1, i, r2, j)
    if j == i:
        return False
    if _intra_relocations(inst, rt, t, r1, i, j):
        return True
    if j > 0 and _intra_swaps(inst, rt, t, r1, i, j):
        return True
    return _two_opt(inst, rt, t, r1, i, j) or _two_opt(inst, rt, t, r1, j, i)


@kernel
def day_neighbours(inst: Inst, rt: Routes, sc: Scratch, t: int) -> int:
    """Fill ``sc.nbt`` with each day-``t`` customer's nearest customers of that day; list them
    in ``sc.order`` and return how many there are."""
    k = 0
    for u in range(1, inst.n + 1):
        if rt.at[t, u, ROUTE] < 0:
            continue
        sc.order[k] = u
        k += 1
        cnt = 0
        for v in inst.neigh[u]:
            if rt.at[t, v, ROUTE] >= 0:
                sc.nbt[u, cnt] = v
                cnt += 1
                if cnt == GRANULAR:
                    break
        sc.nbn[u] = cnt
    return k


@kernel
def improve_day(inst: Inst, rt: Routes, sc: Scratch, t: int, rng: UIntArray) -> bool:
    """Route improvement of day ``t`` to a local optimum; whether anything changed."""
    k = day_neighbours(inst, rt, sc, t)
    if k == 0:
        return False
    shuffle(rng, sc.order, k)
    for q in range(k):
        sc.utest[t, sc.order[q]] = -1
    changed = False
    improved = True
    loop = 0
    while improved:
        improved = False
        for q in range(k):
            u = sc.order[q]
            last = sc.utest[t, u]
            sc.utest[t, u] = rt.ctr[0]
            for z in range(sc.nbn[u]):
                v = sc.nbt[u, z]
                r2 = rt.at[t, v, ROUTE]
                mod = max(rt.info[t, rt.at[t, u, ROUTE], MOD], rt.info[t, r2, MOD])
                if loop > 0 and mod <= last:
                    continue
                j = rt.at[t, v, POS]
                if _pair_moves(inst, rt, t, u, r2, j):
                    improved = True
                    continue
                if j == 1 and _pair_moves(inst, rt, t, u, r2, 0):
                    improved = True
            if loop > 0 and _to_empty_route(inst, rt, t, u):
                improved = True
        if swap_star_pass(inst, rt, sc, t, loop == 0):
            improved = True
        changed = changed or improved
        loop += 1
    return changed


@kernel
def _to_empty_route(inst: Inst, rt: Routes, t: int, u: int) -> bool:
    for r in range(inst.nveh[t]):
        if rt.info[t, r, LEN] == 0:
            return _relocations(inst, rt, t, rt.at[t, u, ROUTE], rt.at[t, u, POS], r, 0)
    return False
