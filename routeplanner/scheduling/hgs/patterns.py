"""Compiled day-pattern search: pattern improvement, the periodic crossover and its repair.

Pattern improvement takes one customer at a time and prices every allowed pattern exactly on
the current routes: days it keeps cost nothing, days it leaves give back their removal gain,
new days cost their cheapest insertion (days are independent, so the sum is exact). The
crossover follows the periodic crossover of Vidal et al. (2012): some days come whole from the
first parent, some partly from it, and the rest are filled in the second parent's order with
every visit that keeps the customer's days inside one of its patterns; each day is then split
into routes, and customers whose days do not yet form a pattern get the cheapest completion.
"""

from __future__ import annotations

import numpy as np

from routeplanner.scheduling.hgs.compiled import kernel
from routeplanner.scheduling.hgs.instance import (
    ROUTE,
    Inst,
    IntArray,
    Pats,
    Routes,
    Scratch,
    UIntArray,
)
from routeplanner.scheduling.hgs.moves import improve_day
from routeplanner.scheduling.hgs.routes import (
    EPS,
    best_insertion,
    insert_at,
    rand_int,
    removal_delta,
    remove_visit,
    shuffle,
    split_day,
)


@kernel
def _price_days(inst: Inst, pats: Pats, rt: Routes, sc: Scratch, c: int) -> float:
    """Fill ``sc.on``/``sc.off`` for customer ``c``; return the removal gains of its visits."""
    total_off = 0.0
    for t in range(inst.days):
        sc.on[t] = np.inf
        sc.off[t] = 0.0
        if rt.at[t, c, ROUTE] >= 0:
            sc.on[t] = 0.0
            sc.off[t] = removal_delta(inst, rt, t, c)
            total_off += sc.off[t]
        elif pats.cany[c, t]:
            sc.on[t], sc.insr[t], sc.insp[t] = best_insertion(inst, rt, t, c)
    return total_off


@kernel
def _switch_pattern(inst: Inst, pats: Pats, rt: Routes, sc: Scratch, c: int, q: int) -> None:
    """Move ``c`` to pattern ``q`` using the insertion points found by :func:`_price_days`."""
    for t in range(inst.days):
        if rt.at[t, c, ROUTE] >= 0 and not pats.mask[q, t]:
            remove_visit(inst, rt, t, c)
            sc.dirty[t] = True
    for k in range(pats.dptr[q], pats.dptr[q + 1]):
        t = pats.day[k]
        if rt.at[t, c, ROUTE] < 0:
            insert_at(inst, rt, t, c, sc.insr[t], sc.insp[t])
            sc.dirty[t] = True
    rt.pat[c] = q


@kernel
def _improve_customer(inst: Inst, pats: Pats, rt: Routes, sc: Scratch, c: int) -> bool:
    cur = rt.pat[c]
    total_off = _price_days(inst, pats, rt, sc, c)
    best = pats.cost[cur]
    best_q = cur
    for q in range(pats.ptr[c], pats.ptr[c + 1]):
        if q == cur:
            continue
        val = pats.cost[q] + total_off
        for k in range(pats.dptr[q], pats.dptr[q + 1]):
            t = pats.day[k]
            val += sc.on[t] - sc.off[t]
        if val < best - EPS:
            best = val
            best_q = q
    if best_q == cur:
        return False
    _switch_pattern(inst, pats, rt, sc, c, best_q)
    return True


@kernel
def improve_patterns(inst: Inst, pats: Pats, rt: Routes, sc: Scratch, rng: UIntArray) -> bool:
    """One pass of pattern improvement over all customers in random order."""
    n = inst.n
    for c in range(n):
        sc.order[c] = c + 1
    shuffle(rng, sc.order, n)
    changed = False
    for k in range(n):
        if _improve_customer(inst, pats, rt, sc, sc.order[k]):
            changed = True
    return changed


@kernel
def educate(
    inst: Inst, pats: Pats, rt: Routes, sc: Scratch, rng: UIntArray, max_rounds: int
) -> None:
    """Route improvement of every day, then pattern improvement and route improvement of the
    days it changed, until nothing changes or ``max_rounds`` rounds are done."""
    for t in range(inst.days):
        sc.dirty[t] = True
    rounds = 0
    while True:
        for t in range(inst.days):
            if sc.dirty[t]:
                sc.dirty[t] = False
                improve_day(inst, rt, sc, t, rng)
        rounds += 1
        if rounds >= max_rounds or not improve_patterns(inst, pats, rt, sc, rng):
            break


@kernel
def _fits(pats: Pats, sc: Scratch, c: int, t: int) -> bool:
    """Whether the child's days of ``c`` plus day ``t`` lie inside one of c's patterns."""
    for q in range(pats.ptr[c], pats.ptr[c + 1]):
        if not pats.mask[q, t]:
            continue
        ok = True
        for d in range(pats.mask.shape[1]):
            if sc.smask[c, d] and not pats.mask[q, d]:
                ok = False
                break
        if ok:
            return True
    return False


@kernel
def _take(sc: Scratch, t: int, c: int) -> None:
    sc.ctour[t, sc.cnv[t]] = c
    sc.cnv[t] += 1
    sc.smask[c, t] = True


@kernel
def _complete(inst: Inst, pats: Pats, rt: Routes, sc: Scratch, c: int) -> None:
    """Give ``c`` the cheapest pattern containing the days it already has, adding the visits."""
    for t in range(inst.days):
        sc.insr[t] = -2
    best = np.inf
    best_q = -1
    for q in range(pats.ptr[c], pats.ptr[c + 1]):
        sub = True
        for t in range(inst.days):
            if sc.smask[c, t] and not pats.mask[q, t]:
                sub = False
                break
        if not sub:
            continue
        val = pats.cost[q]
        for k in range(pats.dptr[q], pats.dptr[q + 1]):
            t = pats.day[k]
            if sc.smask[c, t]:
                continue
            if sc.insr[t] == -2:
                sc.on[t], sc.insr[t], sc.insp[t] = best_insertion(inst, rt, t, c)
            val += sc.on[t]
        if val < best:
            best = val
            best_q = q
    for k in range(pats.dptr[best_q], pats.dptr[best_q + 1]):
        t = pats.day[k]
        if not sc.smask[c, t]:
            insert_at(inst, rt, t, c, sc.insr[t], sc.insp[t])
            sc.smask[c, t] = True
    rt.pat[c] = best_q


@kernel
def _finish_child(inst: Inst, pats: Pats, rt: Routes, sc: Scratch, rng: UIntArray) -> None:
    """Split every day of the child's visit orders, then complete every customer's pattern."""
    for t in range(inst.days):
        split_day(inst, rt, sc, t, sc.ctour[t], sc.cnv[t])
    n = inst.n
    for c in range(n):
        sc.order[c] = c + 1
    shuffle(rng, sc.order, n)
    for k in range(n):
        _complete(inst, pats, rt, sc, sc.order[k])


@kernel
def _reset_child(inst: Inst, rt: Routes, sc: Scratch) -> None:
    for t in range(inst.days):
        sc.cnv[t] = 0
    for c in range(inst.n + 1):
        rt.pat[c] = -1
        for t in range(inst.days):
            sc.smask[c, t] = False


@kernel
def crossover(
    inst: Inst,
    pats: Pats,
    rt: Routes,
    sc: Scratch,
    tour: IntArray,
    nv: IntArray,
    first: int,
    second: int,
    rng: UIntArray,
) -> None:
    """Periodic crossover of the stored parents ``first`` and ``second`` into ``rt``.

    ``tour[s, t, :nv[s, t]]`` is parent s's visit order on day t (its routes one after another).
    """
    t_days = inst.days
    _reset_child(inst, rt, sc)
    shuffle(rng, sc.dayperm, t_days)
    whole = rand_int(rng, t_days + 1)
    mixed = whole + rand_int(rng, t_days - whole + 1)
    for k in range(mixed):
        t = sc.dayperm[k]
        ln = nv[first, t]
        if ln == 0:
            continue
        if k < whole:
            for p in range(ln):
                _take(sc, t, tour[first, t, p])
            continue
        start = rand_int(rng, ln)
        stop = rand_int(rng, ln)
        p = start
        while True:
            _take(sc, t, tour[first, t, p])
            if p == stop:
                break
            p = (p + 1) % ln
    for k in range(whole, t_days):
        t = sc.dayperm[k]
        for p in range(nv[second, t]):
            c = tour[second, t, p]
            if not sc.smask[c, t] and _fits(pats, sc, c, t):
                _take(sc, t, c)
    _finish_child(inst, pats, rt, sc, rng)


@kernel
def from_patterns(
    inst: Inst, pats: Pats, rt: Routes, sc: Scratch, chosen: IntArray, rng: UIntArray
) -> None:
    """A solution giving customer c pattern ``chosen[c]`` (-1 = cheapest), days in random order."""
    _reset_child(inst, rt, sc)
    for c in range(1, inst.n + 1):
        q = chosen[c]
        if q < 0:
            continue
        for k in range(pats.dptr[q], pats.dptr[q + 1]):
            _take(sc, pats.day[k], c)
    for t in range(inst.days):
        shuffle(rng, sc.ctour[t], sc.cnv[t])
    _finish_child(inst, pats, rt, sc, rng)


@kernel
def random_patterns(inst: Inst, pats: Pats, chosen: IntArray, rng: UIntArray) -> None:
    """A random pattern with visits for every customer (leaving out only if nothing else)."""
    for c in range(1, inst.n + 1):
        lo = pats.ptr[c]
        hi = pats.ptr[c + 1]
        with_days = 0
        for q in range(lo, hi):
            if pats.dptr[q + 1] > pats.dptr[q]:
                with_days += 1
        chosen[c] = -1
        if with_days == 0:
            continue
        pick = rand_int(rng, with_days)
        for q in range(lo, hi):
            if pats.dptr[q + 1] > pats.dptr[q]:
                if pick == 0:
                    chosen[c] = q
                    break
                pick -= 1
