"""Periodic routing search: choose one day combination per customer and route every day.

The choice of visit days, more than the routing of each day, decides the quality (see
benchmarks/results/scheduling.md), so the search variable here is the *combination* of days per
customer, evaluated on real routes: a large neighbourhood search removes customers from all
their days and re-inserts them, picking the combination whose cheapest insertions cost least
(regret order), with simulated-annealing acceptance; touched routes get 2-opt, and every day is
periodically polished by PyVRP (a strong single-day VRP solver) and fed back into the search, so
insertion estimates are made on good routes.

The engine is plain data in, plain data out (no model objects), so the PVRP benchmark and the
field-sales scheduler share it and a territory's job can run in another process.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

INF = math.inf
_BIG = 1e18
SMALL_DAY = 15
"""Single routes up to this many stops are polished by or-opt/2-opt, longer ones by PyVRP."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodicVehicle:
    """One vehicle on one day; duration = travel + service, ``soft_duration`` costs overtime."""

    depot: int
    capacity: float = INF
    max_duration: float = INF
    max_stops: int = 1_000_000
    soft_duration: float = INF


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodicCustomer:
    """A customer visited on every day of exactly one of ``combos`` (tuples of day indices).

    ``combo_costs`` are extra objective terms per combination (weekday preference, spacing
    deviation); ``drop_penalty`` is paid when no combination can be placed.
    """

    node: int
    service: float
    demand: float = 0.0
    combos: tuple[tuple[int, ...], ...]
    combo_costs: tuple[float, ...] = ()
    drop_penalty: float = 1e9


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodicProblem:
    """Travel matrix (objective and duration), customers and the vehicles of each day."""

    travel: npt.NDArray[np.float64]
    customers: tuple[PeriodicCustomer, ...]
    days: tuple[tuple[PeriodicVehicle, ...], ...]
    overtime_weight: float = 0.0
    pyvrp_scale: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodicSolution:
    """``combo[c]`` is the chosen combination index or ``None`` (dropped)."""

    combo: tuple[int | None, ...]
    routes: tuple[tuple[tuple[int, ...], ...], ...]
    travel: float
    objective: float
    iterations: int = 0
    stats: dict[str, float] = field(default_factory=dict)


_Snapshot = tuple[list[list[list[int]]], list[int | None]]
"""Routes per day and vehicle, and each customer's combination."""


@dataclass(slots=True)
class _Ins:
    delta: float
    vehicle: int
    pos: int


class _State:
    """Mutable search state: routes per day and vehicle with cached load/duration/cost."""

    def __init__(self, prob: PeriodicProblem) -> None:
        self.p = prob
        self.m = prob.travel
        self.nodes = np.array([c.node for c in prob.customers], dtype=np.int64)
        self.svc = np.array([c.service for c in prob.customers], dtype=np.float64)
        self.dem = np.array([c.demand for c in prob.customers], dtype=np.float64)
        self.routes: list[list[list[int]]] = [[[] for _ in day] for day in prob.days]
        self.load = [[0.0 for _ in day] for day in prob.days]
        self.dur = [[0.0 for _ in day] for day in prob.days]
        self.cost = [[0.0 for _ in day] for day in prob.days]
        self.combo: list[int | None] = [None] * len(prob.customers)
        self._edges: dict[int, tuple[npt.NDArray[np.float64], ...]] = {}
        self.ccost = [
            c.combo_costs if c.combo_costs else (0.0,) * len(c.combos) for c in prob.customers
        ]

    # -- evaluation -------------------------------------------------------------------------
    def seq(self, t: int, v: int) -> npt.NDArray[np.int64]:
        dep = self.p.days[t][v].depot
        r = self.routes[t][v]
        out = np.empty(len(r) + 2, dtype=np.int64)
        out[0] = dep
        out[-1] = dep
        if r:
            out[1:-1] = self.nodes[r]
        return out

    def refresh(self, t: int, v: int) -> None:
        self._edges.pop(t, None)
        s = self.seq(t, v)
        travel = float(self.m[s[:-1], s[1:]].sum())
        r = self.routes[t][v]
        self.cost[t][v] = travel
        self.dur[t][v] = travel + float(self.svc[r].sum()) if r else 0.0
        self.load[t][v] = float(self.dem[r].sum()) if r else 0.0
        if not r:
            self.cost[t][v] = 0.0

    def overtime(self, t: int, v: int, dur: float) -> float:
        soft = self.p.days[t][v].soft_duration
        return self.p.overtime_weight * max(0.0, dur - soft) if soft < INF else 0.0

    def objective(self) -> float:
        total = 0.0
        for t, day in enumerate(self.routes):
            for v in range(len(day)):
                total += self.cost[t][v] + self.overtime(t, v, self.dur[t][v])
        for c, k in enumerate(self.combo):
            if k is None:
                total += self.p.customers[c].drop_penalty
            else:
                total += self.ccost[c][k]
        return total

    def travel_total(self) -> float:
        return sum(sum(day) for day in self.cost)

    # -- moves -------------------------------------------------------------------------------
    def best_insertion(self, c: int, t: int) -> _Ins | None:
        node = int(self.nodes[c])
        svc = float(self.svc[c])
        dem = float(self.dem[c])
        best: _Ins | None = None
        seen_empty: set[int] = set()
        for v, veh in enumerate(self.p.days[t]):
            r = self.routes[t][v]
            if not r:
                if veh.depot in seen_empty:
                    continue
                seen_empty.add(veh.depot)
            if len(r) >= veh.max_stops or self.load[t][v] + dem > veh.capacity + 1e-9:
                continue
            s = self.seq(t, v)
            a, b = s[:-1], s[1:]
            d = self.m[a, node] + self.m[node, b] - self.m[a, b]
            dur_new = self.dur[t][v] + d + svc
            ok = dur_new <= veh.max_duration + 1e-9
            if not ok.any():
                continue
            cost = d.copy()
            if veh.soft_duration < INF and self.p.overtime_weight > 0:
                cost += self.p.overtime_weight * (
                    np.maximum(0.0, dur_new - veh.soft_duration)
                    - max(0.0, self.dur[t][v] - veh.soft_duration)
                )
            cost[~ok] = _BIG
            i = int(np.argmin(cost))
            if best is None or cost[i] < best.delta:
                best = _Ins(float(cost[i]), v, i)
        return best

    def _day_edges(self, t: int) -> tuple[npt.NDArray[np.float64], ...]:
        """All insertion edges of day ``t`` in flat arrays (cached until the day changes)."""
        got = self._edges.get(t)
        if got is not None:
            return got
        a_l: list[npt.NDArray[np.int64]] = []
        meta: list[list[float]] = []
        seen_empty: set[int] = set()
        for v, veh in enumerate(self.p.days[t]):
            r = self.routes[t][v]
            if not r:
                if veh.depot in seen_empty:
                    continue
                seen_empty.add(veh.depot)
            if len(r) >= veh.max_stops:
                continue
            seq = self.seq(t, v)
            a_l.append(seq)
            meta.append(
                [
                    v,
                    self.dur[t][v],
                    self.load[t][v],
                    veh.max_duration,
                    veh.capacity,
                    veh.soft_duration,
                ]
            )
        if not a_l:
            empty = np.zeros(0)
            got = (empty, empty, empty, empty, empty, empty, empty, empty, empty)
            self._edges[t] = got
            return got
        a = np.concatenate([q[:-1] for q in a_l])
        b = np.concatenate([q[1:] for q in a_l])
        lens = [len(q) - 1 for q in a_l]
        pos = np.concatenate([np.arange(n) for n in lens]).astype(np.float64)
        per = np.repeat(np.array(meta, dtype=np.float64), lens, axis=0)
        got = (
            a.astype(np.float64),
            b.astype(np.float64),
            pos,
            per[:, 0],
            per[:, 1],
            per[:, 2],
            per[:, 3],
            per[:, 4],
            per[:, 5],
        )
        self._edges[t] = got
        return got

    def best_insertions(self, cs: list[int], t: int) -> list[_Ins | None]:
        """:meth:`best_insertion` for many customers on one day in one array operation."""
        a_f, b_f, pos, veh, dur0, load0, maxd, cap, soft = self._day_edges(t)
        if len(a_f) == 0:
            return [None] * len(cs)
        a = a_f.astype(np.int64)
        b = b_f.astype(np.int64)
        x = self.nodes[cs]
        d = self.m[a[:, None], x[None, :]] + self.m[x[None, :], b[:, None]] - self.m[a, b][:, None]
        dur_new = dur0[:, None] + d + self.svc[cs][None, :]
        cost = d
        ow = self.p.overtime_weight
        if ow > 0 and np.isfinite(soft).any():
            s_ = np.where(np.isfinite(soft), soft, 1e300)[:, None]
            cost = d + ow * (np.maximum(0.0, dur_new - s_) - np.maximum(0.0, dur0[:, None] - s_))
        bad = dur_new > maxd[:, None] + 1e-9
        bad |= load0[:, None] + self.dem[cs][None, :] > cap[:, None] + 1e-9
        cost = np.where(bad, _BIG, cost)
        e = np.argmin(cost, axis=0)
        val = cost[e, np.arange(len(cs))]
        out: list[_Ins | None] = []
        for i in range(len(cs)):
            if val[i] >= _BIG:
                out.append(None)
            else:
                out.append(_Ins(float(val[i]), int(veh[e[i]]), int(pos[e[i]])))
        return out

    def insert(self, c: int, t: int, ins: _Ins) -> None:
        self.routes[t][ins.vehicle].insert(ins.pos, c)
        self.refresh(t, ins.vehicle)

    def remove(self, c: int) -> list[tuple[int, int]]:
        """Take customer ``c`` out of every day of its combination; return touched routes."""
        k = self.combo[c]
        touched: list[tuple[int, int]] = []
        if k is None:
            return touched
        for t in self.p.customers[c].combos[k]:
            for v, r in enumerate(self.routes[t]):
                if c in r:
                    r.remove(c)
                    self.refresh(t, v)
                    touched.append((t, v))
                    break
        self.combo[c] = None
        return touched

    def removal_gain(self, c: int) -> float:
        k = self.combo[c]
        if k is None:
            return 0.0
        gain = 0.0
        node = int(self.nodes[c])
        for t in self.p.customers[c].combos[k]:
            for v, r in enumerate(self.routes[t]):
                if c in r:
                    i = r.index(c)
                    dep = self.p.days[t][v].depot
                    a = dep if i == 0 else int(self.nodes[r[i - 1]])
                    b = dep if i == len(r) - 1 else int(self.nodes[r[i + 1]])
                    gain += self.m[a, node] + self.m[node, b] - self.m[a, b]
                    break
        return gain / max(1, len(self.p.customers[c].combos[k]))

    def two_opt(self, t: int, v: int) -> None:
        """Segment reversal until no gain; exact on asymmetric matrices via prefix sums."""
        r = self.routes[t][v]
        if len(r) < 3:
            return
        improved = True
        while improved:
            improved = False
            s = self.seq(t, v)
            f = self.m[s[:-1], s[1:]]
            b = self.m[s[1:], s[:-1]]
            fp = np.concatenate(([0.0], np.cumsum(f)))
            bp = np.concatenate(([0.0], np.cumsum(b)))
            n = len(s) - 2
            for i in range(1, n):
                j = np.arange(i + 1, n + 1)
                old = f[i - 1] + (fp[j] - fp[i]) + f[j]
                new = self.m[s[i - 1], s[j]] + (bp[j] - bp[i]) + self.m[s[i], s[j + 1]]
                gain = old - new
                k = int(np.argmax(gain))
                if gain[k] > 1e-9:
                    jj = int(j[k])
                    r[i - 1 : jj] = r[i - 1 : jj][::-1]
                    improved = True
                    break
        self.refresh(t, v)

    def or_opt(self, t: int, v: int) -> None:
        """Move segments of 1-3 customers elsewhere in the same route while that gains."""
        r = self.routes[t][v]
        improved = True
        while improved and len(r) >= 3:
            improved = False
            base = self.cost[t][v]
            for length in (1, 2, 3):
                for i in range(len(r) - length + 1):
                    seg = r[i : i + length]
                    rest = r[:i] + r[i + length :]
                    for j in range(len(rest) + 1):
                        if j == i:
                            continue
                        cand = rest[:j] + seg + rest[j:]
                        dep = self.p.days[t][v].depot
                        s = np.array([dep, *self.nodes[cand], dep], dtype=np.int64)
                        c = float(self.m[s[:-1], s[1:]].sum())
                        if c < base - 1e-9:
                            r[:] = cand
                            self.refresh(t, v)
                            improved = True
                            break
                    if improved:
                        break
                if improved:
                    break

    def snapshot(self) -> _Snapshot:
        return [[list(r) for r in day] for day in self.routes], list(self.combo)

    def restore(self, snap: _Snapshot) -> None:
        routes, combo = snap
        self.routes = [[list(r) for r in day] for day in routes]
        self.combo = list(combo)
        for t, day in enumerate(self.routes):
            for v in range(len(day)):
                self.refresh(t, v)


@dataclass(slots=True)
class _Incumbent:
    """The search's current objective and the best solution found so far."""

    cur: float
    best_obj: float
    best: _Snapshot


class _Search:
    def __init__(
        self, prob: PeriodicProblem, seed: int, polish: Callable[[_State, int, float], bool] | None
    ) -> None:
        self.p = prob
        self.s = _State(prob)
        self.rng = random.Random(seed)
        self.polish = polish
        self.temp_share = 0.02
        self.polish_every = 0.08
        self.qmax_cap = 40
        self.final_share = 0.35
        self.polish_each = 0.03
        self.n = len(prob.customers)
        pts = prob.travel
        nodes = self.s.nodes
        self.near = np.argsort(pts[np.ix_(nodes, nodes)] + pts[np.ix_(nodes, nodes)].T, axis=1)
        self.nprng = np.random.default_rng(seed)
        tdays = len(prob.days)
        self.cdays: list[list[int]] = []
        self.cmat: list[npt.NDArray[np.int64]] = []
        self.ccost_arr: list[npt.NDArray[np.float64]] = []
        for c, cust in enumerate(prob.customers):
            width = max((len(k) for k in cust.combos), default=1)
            mat = np.full((max(1, len(cust.combos)), width), tdays, dtype=np.int64)
            for i, combo in enumerate(cust.combos):
                mat[i, : len(combo)] = combo
            self.cmat.append(mat)
            self.cdays.append(sorted({t for combo in cust.combos for t in combo}))
            cost = np.array(self.s.ccost[c] if cust.combos else (INF,), dtype=np.float64)
            self.ccost_arr.append(cost)

    def repair(self, pending: list[int], *, regret: bool, noise: float) -> set[tuple[int, int]]:
        """Insert ``pending`` customers, choosing each one's cheapest combination.

        Regret order inserts first the customer that loses most if its best combination goes;
        per-day insertion costs are cached and invalidated only for days that changed.
        """
        s = self.s
        tdays = len(self.p.days)
        touched: set[tuple[int, int]] = set()
        dc: dict[int, npt.NDArray[np.float64]] = {}
        ins: dict[tuple[int, int], _Ins] = {}
        pend = list(pending)
        if not regret:
            self.rng.shuffle(pend)
        for c in pend:
            arr = np.full(tdays + 1, np.nan)
            arr[tdays] = 0.0
            dc[c] = arr
        while pend:
            choice: tuple[float, int, int] | None = None  # (-regret or order, c, combo)
            dead: list[int] = []
            need: dict[int, list[int]] = {}
            scan = pend if regret else pend[:1]
            for c in scan:
                arr = dc[c]
                for t in self.cdays[c]:
                    if np.isnan(arr[t]):
                        need.setdefault(t, []).append(c)
            for t, cs in need.items():
                for c, got in zip(cs, s.best_insertions(cs, t), strict=True):
                    if got is None:
                        dc[c][t] = INF
                    else:
                        dc[c][t] = got.delta
                        ins[(c, t)] = got
            for idx, c in enumerate(scan):
                arr = dc[c]
                totals = arr[self.cmat[c]].sum(axis=1) + self.ccost_arr[c]
                if noise > 0:
                    totals = totals * (1.0 + noise * (self.nprng.random(len(totals)) - 0.5))
                k = int(np.argmin(totals))
                best = float(totals[k])
                if best >= INF:
                    dead.append(c)
                    continue
                if regret:
                    if len(totals) > 1:
                        second = float(np.partition(totals, 1)[1])
                        second = min(second, best + 1e7)
                    else:
                        second = best + 1e7
                    key_val = -(second - best)
                else:
                    key_val = float(idx)
                if choice is None or key_val < choice[0]:
                    choice = (key_val, c, k)
                if not regret:
                    break
            for c in dead:
                pend.remove(c)
                s.combo[c] = None
            if choice is None:
                continue
            _, c, k = choice
            pend.remove(c)
            s.combo[c] = k
            days = self.p.customers[c].combos[k]
            for t in days:
                got = ins[(c, t)]
                s.insert(c, t, got)
                touched.add((t, got.vehicle))
            for other in pend:
                dc[other][list(days)] = np.nan
        return touched

    def destroy(self, q: int) -> tuple[list[int], set[tuple[int, int]]]:
        s = self.s
        assigned = [c for c in range(self.n) if s.combo[c] is not None]
        if not assigned:
            return [], set()
        op = self.rng.random()
        chosen: list[int] = []
        if op < 0.35:
            seed = self.rng.choice(assigned)
            chosen = [int(c) for c in self.near[seed][: q * 2] if s.combo[int(c)] is not None]
            chosen = chosen[:q]
        elif op < 0.55:
            days = [(t, v) for t, day in enumerate(s.routes) for v, r in enumerate(day) if r]
            t, v = self.rng.choice(days)
            chosen = list(s.routes[t][v])
            if len(chosen) > 2 * q:
                chosen = self.rng.sample(chosen, 2 * q)
        elif op < 0.75:
            gains = sorted(
                assigned, key=lambda c: -s.removal_gain(c) * (0.7 + 0.6 * self.rng.random())
            )
            chosen = gains[:q]
        else:
            chosen = self.rng.sample(assigned, min(q, len(assigned)))
        touched: set[tuple[int, int]] = set()
        for c in chosen:
            touched.update(s.remove(c))
        return chosen, touched

    def improve_routes(self, routes: set[tuple[int, int]]) -> None:
        for t, v in routes:
            self.s.two_opt(t, v)

    def run(
        self,
        *,
        time_limit_s: float,
        max_iterations: int | None,
        progress: Callable[[float, float], None] | None,
        initial: Sequence[int | None] | None,
    ) -> PeriodicSolution:
        """Construct, then destroy-and-repair until the budget ends, polishing days on the way.

        Time-bounded runs polish the best solution every ``polish_every`` of the budget and
        keep the last ``final_share`` for a final polish; iteration-bounded runs (reproducible)
        polish once at the end, on iteration limits only.
        """
        start = time.perf_counter()
        s = self.s
        self._construct(initial)
        self.improve_routes({(t, v) for t, day in enumerate(s.routes) for v in range(len(day))})
        cur = s.objective()
        inc = _Incumbent(cur=cur, best_obj=cur, best=s.snapshot())
        budget = time_limit_s
        polish_share = self.final_share if self.polish and self._has_big_day() else 0.0
        lns_end = start + budget * (1 - polish_share)
        temp0 = self.temp_share * inc.cur
        it = 0
        polishes = 0
        next_polish = start + budget * self.polish_every
        qmax = max(3, min(self.qmax_cap, self.n // 4))
        while max_iterations is None or it < max_iterations:
            now = time.perf_counter()
            if now >= lns_end:
                break
            frac = (now - start) / max(1e-9, lns_end - start)
            if max_iterations is not None:
                frac = max(frac, it / max_iterations)
            it += 1
            self._lns_step(inc, temp0 * (1 - frac) + 1e-9, qmax)
            if self.polish and time.perf_counter() >= next_polish and max_iterations is None:
                self._polish_best(inc, budget * self.polish_each)
                polishes += 1
                next_polish = time.perf_counter() + budget * self.polish_every
            if progress is not None and it % 50 == 0:
                progress(min(1.0, frac), inc.best_obj)
        s.restore(inc.best)
        if self.polish:
            remaining = budget - (time.perf_counter() - start)
            self._polish_all(max(0.2, remaining - 0.5) if max_iterations is None else 0.0)
            polishes += 1
        final = s.objective()
        if final > inc.best_obj + 1e-9:
            s.restore(inc.best)
            final = inc.best_obj
        if progress is not None:
            progress(1.0, final)
        return PeriodicSolution(
            combo=tuple(s.combo),
            routes=tuple(tuple(tuple(r) for r in day) for day in s.routes),
            travel=s.travel_total(),
            objective=final,
            iterations=it,
            stats={"polishes": float(polishes), "seconds": time.perf_counter() - start},
        )

    def _construct(self, initial: Sequence[int | None] | None) -> None:
        """Insert every customer, hardest first; warm-started ones keep their combination when
        it still fits."""
        if initial is None:
            order = sorted(range(self.n), key=lambda c: len(self.p.customers[c].combos))
            self.repair(order, regret=True, noise=0.0)
            return
        pending = [c for c, k in enumerate(initial) if k is None or not self._place(c, k)]
        self.repair(pending, regret=True, noise=0.0)

    def _place(self, c: int, k: int) -> bool:
        """Put customer ``c`` on every day of combination ``k``; undo it if one day is full."""
        s = self.s
        for t in self.p.customers[c].combos[k]:
            ins = s.best_insertion(c, t)
            if ins is None:
                s.combo[c] = k
                s.remove(c)
                return False
            s.insert(c, t, ins)
        s.combo[c] = k
        return True

    def _has_big_day(self) -> bool:
        """Whether any day needs PyVRP (several vehicles, or one long route)."""
        return any(
            len(day) > 1 or sum(len(r) for r in self.s.routes[t]) > SMALL_DAY
            for t, day in enumerate(self.p.days)
        )

    def _lns_step(self, inc: _Incumbent, temp: float, qmax: int) -> None:
        """Remove a few customers (and retry up to five dropped ones), re-insert, and accept by
        simulated annealing at temperature ``temp``."""
        s = self.s
        snap = s.snapshot()
        q = self.rng.randint(2, qmax)
        removed, touched = self.destroy(q)
        dropped = [c for c in range(self.n) if s.combo[c] is None and c not in removed]
        if len(dropped) > 5:
            dropped = self.rng.sample(dropped, 5)
        touched |= self.repair(
            removed + dropped, regret=self.rng.random() < 0.6, noise=0.1 * self.rng.random()
        )
        self.improve_routes({tv for tv in touched if s.routes[tv[0]][tv[1]]})
        new = s.objective()
        if new < inc.cur - 1e-9 or self.rng.random() < math.exp(-(new - inc.cur) / temp):
            inc.cur = new
            if new < inc.best_obj - 1e-9:
                inc.best_obj, inc.best = new, s.snapshot()
        else:
            s.restore(snap)

    def _polish_best(self, inc: _Incumbent, seconds: float) -> None:
        """Polish the best solution's days and continue the search from there."""
        s = self.s
        s.restore(inc.best)
        self._polish_all(seconds)
        inc.cur = s.objective()
        if inc.cur < inc.best_obj - 1e-9:
            inc.best_obj, inc.best = inc.cur, s.snapshot()

    def _polish_all(self, seconds: float) -> None:
        assert self.polish is not None
        days = [t for t, day in enumerate(self.s.routes) if any(day)]
        big = [
            t
            for t in days
            if len(self.p.days[t]) > 1 or sum(len(r) for r in self.s.routes[t]) > SMALL_DAY
        ]
        for t in days:
            if t not in big:
                # A short single route is solved near-optimally by or-opt + 2-opt; PyVRP's
                # start-up per call would cost more than it could gain.
                for v in range(len(self.s.routes[t])):
                    self.s.or_opt(t, v)
                    self.s.two_opt(t, v)
        for t in big:
            self.polish(self.s, t, seconds / max(1, len(big)))


def _pyvrp_polish(state: _State, t: int, seconds: float) -> bool:
    """Re-route one day with PyVRP from the current routes; keep it only if it is better.

    ``seconds`` of 0 stops on an iteration limit instead, so reproducible runs stay so.
    """
    import pyvrp
    from pyvrp.stop import MaxIterations, MaxRuntime

    custs = sorted({c for r in state.routes[t] for c in r})
    if len(custs) < 2:
        return False
    day = _PyvrpDay.of(state, t, custs)
    local = {c: i for i, c in enumerate(custs)}
    init_routes = [
        pyvrp.Route(day.data, [local[c] for c in state.routes[t][v]], vt_index)
        for vt_index, key in enumerate(day.keys)
        for v in day.groups[key]
        if state.routes[t][v]
    ]
    try:
        init = pyvrp.Solution(day.data, init_routes)
    except (ValueError, RuntimeError):
        init = None
    stop = MaxRuntime(seconds) if seconds > 0 else MaxIterations(200)
    res = pyvrp.solve(
        day.data, stop, seed=0, display=False, collect_stats=False, initial_solution=init
    )
    if not res.best.is_feasible() or not res.best.is_complete():
        return False
    free = {k: list(day.groups[k]) for k in day.keys}
    new_routes: list[list[int]] = [[] for _ in state.p.days[t]]
    for route in res.best.routes():
        v = free[day.keys[route.vehicle_type()]].pop(0)
        new_routes[v] = [custs[a.idx] for a in route.schedule() if a.is_client()]
    return _keep_if_better(state, t, new_routes)


_VehicleKey = tuple[int, float, float, int, float]


@dataclass(frozen=True, slots=True)
class _PyvrpDay:
    """One day as PyVRP data; vehicles of equal shape share a vehicle type (``keys`` order)."""

    data: Any
    keys: list[_VehicleKey]
    groups: dict[_VehicleKey, list[int]]

    @staticmethod
    def of(state: _State, t: int, custs: list[int]) -> _PyvrpDay:
        """Times are scaled by ``pyvrp_scale`` to integers; a soft duration becomes a shift with
        paid overtime up to the hard duration."""
        import pyvrp

        prob = state.p
        vehicles = prob.days[t]
        scale = prob.pyvrp_scale
        depots = sorted({v.depot for v in vehicles})
        nodes = depots + [int(state.nodes[c]) for c in custs]
        sub = prob.travel[np.ix_(nodes, nodes)]
        dist = np.rint(sub * scale).astype(np.int64)
        dur = np.ceil(sub * scale - 1e-9).astype(np.int64)
        use_stops = any(v.max_stops < len(custs) for v in vehicles)
        clients = []
        for i, c in enumerate(custs):
            dem = round(float(state.dem[c]) * scale)
            clients.append(
                pyvrp.Client(
                    len(depots) + i,
                    delivery=[dem, 1] if use_stops else [dem],
                    service_duration=math.ceil(float(state.svc[c]) * scale - 1e-9),
                )
            )
        groups: dict[_VehicleKey, list[int]] = {}
        for v, veh in enumerate(vehicles):
            key = (veh.depot, veh.capacity, veh.max_duration, veh.max_stops, veh.soft_duration)
            groups.setdefault(key, []).append(v)
        dep_index = {d: i for i, d in enumerate(depots)}
        vtypes = [
            _vehicle_type(prob, key, len(groups[key]), dep_index[key[0]], use_stops)
            for key in groups
        ]
        data = pyvrp.ProblemData(
            [pyvrp.Location(0.0, 0.0) for _ in nodes],
            clients,
            [pyvrp.Depot(i) for i in range(len(depots))],
            vtypes,
            [dist],  # type: ignore[list-item]
            [dur],  # type: ignore[list-item]
        )
        return _PyvrpDay(data=data, keys=list(groups), groups=groups)


def _vehicle_type(
    prob: PeriodicProblem, key: _VehicleKey, count: int, depot: int, use_stops: bool
) -> Any:
    import pyvrp

    _, cap, maxd, stops, soft = key
    scale = prob.pyvrp_scale
    big = 2**40
    capv = [int(cap * scale) if cap < INF else big]
    if use_stops:
        capv.append(stops)
    shift = int(maxd * scale) if maxd < INF else big
    overtime = 0
    ot_cost = 0
    if soft < INF and prob.overtime_weight > 0 and soft < maxd:
        overtime = shift - int(soft * scale) if maxd < INF else big
        shift = int(soft * scale)
        ot_cost = max(1, round(prob.overtime_weight))
    return pyvrp.VehicleType(
        count,
        capacity=capv,
        start_depot=depot,
        end_depot=depot,
        shift_duration=shift,
        max_overtime=overtime,
        unit_overtime_cost=ot_cost,
    )


def _keep_if_better(state: _State, t: int, new_routes: list[list[int]]) -> bool:
    """Adopt day ``t``'s new routes if they keep every limit and cost less; else restore."""
    vehicles = state.p.days[t]
    old_routes = [list(r) for r in state.routes[t]]
    old = sum(
        state.cost[t][v] + state.overtime(t, v, state.dur[t][v]) for v in range(len(vehicles))
    )
    state.routes[t] = new_routes
    for v in range(len(vehicles)):
        state.refresh(t, v)
    feasible = all(
        state.dur[t][v] <= veh.max_duration + 1e-6
        and state.load[t][v] <= veh.capacity + 1e-6
        and len(state.routes[t][v]) <= veh.max_stops
        for v, veh in enumerate(vehicles)
    )
    new = sum(
        state.cost[t][v] + state.overtime(t, v, state.dur[t][v]) for v in range(len(vehicles))
    )
    if feasible and new < old - 1e-9:
        return True
    state.routes[t] = old_routes
    for v in range(len(vehicles)):
        state.refresh(t, v)
    return False


def solve_periodic(
    problem: PeriodicProblem,
    *,
    time_limit_s: float = 10.0,
    max_iterations: int | None = None,
    seed: int = 0,
    use_pyvrp: bool = True,
    initial: Sequence[int | None] | None = None,
    progress: Callable[[float, float], None] | None = None,
) -> PeriodicSolution:
    """Search combinations and routes; stops at ``time_limit_s`` or ``max_iterations``.

    With ``max_iterations`` set, PyVRP polishing uses iteration limits only, so the result is
    reproducible for a seed (tests); otherwise it is time-bounded (production, benchmarks).
    ``initial`` warm-starts from given combinations (plan repair keeps what it can).
    """
    search = _Search(problem, seed, _pyvrp_polish if use_pyvrp else None)
    return search.run(
        time_limit_s=time_limit_s if max_iterations is None else INF,
        max_iterations=max_iterations,
        progress=progress,
        initial=initial,
    )
