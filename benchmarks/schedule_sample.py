"""Sample region, 4 weeks, all reps: routeplanner's scheduler vs a naive baseline, and repair.

    python -m benchmarks.schedule_sample [--time-limit SECONDS] [--csv OUT] [--quick SECONDS]

Territories: nearest rep home under an equal-workload cap (the territory designer is separate).
Travel: straight-line (HaversineTravel, 1.3 detour at 40 km/h), or with ``--roads`` real road
times on the sample OSM extract. The naive baseline gives each due visit the first allowed day
of its window that still has room (max visits, shift time estimate), orders each day by nearest
neighbour and times it with the same day router. Repair: 10 % of week 1's visits are marked
missed (seeded), re-planned from Monday of week 2 with 1 frozen day.

Search engines: ``routeplanner`` chooses days with the hybrid genetic search (the default),
``previous`` with the large neighbourhood search it replaced, both at ``--time-limit`` per
territory; ``routeplanner@<quick>s`` is the default engine at ``--quick`` seconds. Both engines'
objectives are recorded as they improve, so the run also prints, per territory, when the new
search first had a plan as good (objective) as the previous one's final plan.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from routeplanner.io.accounts import read_accounts
from routeplanner.io.holidays import read_holidays
from routeplanner.io.reps import read_reps
from routeplanner.model import Account, DayRoute, Horizon, Plan, Rep, Territory, Unassigned
from routeplanner.model.history import VisitStatus
from routeplanner.planner import merge_plans, territory_jobs
from routeplanner.scheduling.calendar import usable_shift_s, visitable_days, working_days
from routeplanner.scheduling.day_router import DayJob, sequence_day_router
from routeplanner.scheduling.frequency import visit_options
from routeplanner.scheduling.hgs import solve_hgs, warm_up
from routeplanner.scheduling.kpi import CoverageKpis, coverage_kpis
from routeplanner.scheduling.periodic import PeriodicProblem, PeriodicSolution, solve_periodic
from routeplanner.scheduling.repair import VisitOutcome, repair_plan
from routeplanner.scheduling.scheduler import PeriodicSearch, schedule_visits
from routeplanner.travel import HaversineTravel, TravelTimeProvider
from routeplanner.units import haversine_m

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
START = date(2026, 11, 23)  # Monday after the sample's last visits


def balanced_territories(accounts: list[Account], reps: list[Rep]) -> list[Territory]:
    """Nearest rep home with a workload cap (the territory designer is a separate module).

    Accounts with the most to lose (far from their second-nearest rep) choose first; each rep
    takes at most an equal share (+5 %) of the expected visit minutes over four weeks.
    """

    def dist(a: Account, r: Rep) -> float:
        return haversine_m(a.location.lat, a.location.lon, r.home.lat, r.home.lon)

    def work(a: Account) -> float:
        return a.visit_rule.visits_in(28) * a.visit_duration_s

    cap = 1.05 * sum(work(a) for a in accounts) / len(reps)
    load = {r.rep_id: 0.0 for r in reps}
    owned: dict[str, list[str]] = {r.rep_id: [] for r in reps}

    def regret(a: Account) -> float:
        d = sorted(dist(a, r) for r in reps)
        return d[1] - d[0]

    for a in sorted(accounts, key=regret, reverse=True):
        for r in sorted(reps, key=lambda r: dist(a, r)):
            if load[r.rep_id] + work(a) <= cap or r is max(reps, key=lambda x: -load[x.rep_id]):
                owned[r.rep_id].append(a.account_id)
                load[r.rep_id] += work(a)
                break
    return [
        Territory(
            territory_id=f"T-{r.rep_id}", name=r.name, rep_id=r.rep_id, account_ids=tuple(ids)
        )
        for r, ids in zip(reps, owned.values(), strict=True)
    ]


def naive_plan(
    accounts: list[Account],
    rep: Rep,
    horizon: Horizon,
    holidays: frozenset[date],
    travel: TravelTimeProvider,
) -> Plan:
    snaps = travel.snap([(a.account_id, a.location) for a in accounts]).snaps
    accounts = [a for a, s in zip(accounts, snaps, strict=True) if s.reachable]
    days = list(working_days(rep, horizon, holidays))
    load: dict[date, int] = dict.fromkeys(days, 0)
    count: dict[date, int] = dict.fromkeys(days, 0)
    todo: dict[date, list[Account]] = {d: [] for d in days}
    for acc in accounts:
        allowed = visitable_days(acc, rep, days)
        opt = visit_options(acc, allowed, horizon.start, horizon.end)
        for occ in opt.occurrences:
            for d in allowed:
                # Room estimate: the visit plus 20 min driving, within the usable shift.
                need = acc.visit_duration_s + 1200
                fits = count[d] < rep.max_visits_per_day and acc not in todo[d]
                fits = fits and load[d] + need <= usable_shift_s(rep, d)
                if occ.earliest <= d <= occ.latest and fits:
                    todo[d].append(acc)
                    load[d] += need
                    count[d] += 1
                    break
    routes: list[DayRoute] = []
    unassigned: list[Unassigned] = []
    for d, visits in todo.items():
        if not visits:
            continue
        pts = [rep.home] + [a.location for a in visits]
        m = travel.matrix(pts).durations_s
        order, here, left = [], 0, set(range(1, len(pts)))
        while left:
            nxt = min(left, key=lambda j: int(m[here, j]))
            order.append(nxt)
            left.remove(nxt)
            here = nxt
        seq = [visits[i - 1] for i in order]
        mat = travel.matrix([rep.home] + [a.location for a in seq])
        res = sequence_day_router(
            DayJob(
                rep=rep,
                day=d,
                visits=tuple(seq),
                durations_s=mat.durations_s,
                distances_m=mat.distances_m,
            )
        )
        routes.append(res.route)
        unassigned.extend(res.unassigned)
    return Plan(routes=tuple(routes), unassigned=tuple(unassigned))


def summarise(name: str, kpis: list[CoverageKpis], seconds: float) -> dict[str, str]:
    req = sum(k.required_visits for k in kpis)
    sched = sum(k.scheduled_visits for k in kpis)
    gaps = sum(k.gaps_total for k in kpis)
    within = sum(k.gaps_within for k in kpis)
    loads = [w for k in kpis for _, w in k.workload_s]
    return {
        "solver": name,
        "required": str(req),
        "scheduled": str(sched),
        "overdue_accounts": str(sum(k.overdue_accounts for k in kpis)),
        "adherence": f"{within / gaps if gaps else 1.0:.3f}",
        "drive_h": f"{sum(k.drive_s for k in kpis) / 3600:.1f}",
        "drive_share": f"{sum(k.drive_s for k in kpis) / max(1, sum(k.work_s for k in kpis)):.3f}",
        "workload_std_h": f"{float(np.std(loads)) / 3600:.2f}",
        "workload_range_h": f"{(max(loads) - min(loads)) / 3600:.2f}",
        "seconds": f"{seconds:.1f}",
    }


Trace = list[tuple[float, float]]
"""(seconds since the search started, best objective so far) of one search call."""


def recorded(search: PeriodicSearch, traces: list[Trace]) -> PeriodicSearch:
    """``search`` that appends the trace of each call (one call per territory) to ``traces``."""

    def run(
        problem: PeriodicProblem,
        *,
        progress: Callable[[float, float], None] | None,
        **options: Any,
    ) -> PeriodicSolution:
        trace: Trace = []
        traces.append(trace)
        t0 = time.perf_counter()

        def seen(frac: float, best: float) -> None:
            trace.append((time.perf_counter() - t0, best))
            if progress is not None:
                progress(frac, best)

        sol = search(problem, progress=seen, **options)
        trace.append((time.perf_counter() - t0, sol.objective))
        return sol

    return run


@dataclass(frozen=True)
class Region:
    accounts: list[Account]
    reps: list[Rep]
    territories: list[Territory]
    horizon: Horizon
    holidays: frozenset[date]
    travel: TravelTimeProvider

    def members(self, t: Territory) -> list[Account]:
        by_id = {a.account_id: a for a in self.accounts}
        return [by_id[a] for a in t.account_ids]


def plan_region(region: Region, search: PeriodicSearch, limit: float, seed: int) -> Plan:
    """Every territory scheduled as the planner's job does it, but with ``search`` itself: a
    recording wrapper is a live function, which a job (carrying only a search's name) cannot."""
    jobs, orphans = territory_jobs(
        region.accounts,
        region.reps,
        region.territories,
        region.horizon,
        holidays=region.holidays,
        time_limit_s=limit,
        seed=seed,
    )
    plans = [
        schedule_visits(
            job.accounts,
            job.rep,
            job.horizon,
            region.travel,
            holidays=job.holidays,
            time_limit_s=job.time_limit_s,
            seed=job.seed,
            search=search,
        )
        for job in jobs
    ]
    return merge_plans(plans, orphans)


def kpi_row(region: Region, name: str, plan: Plan, secs: float) -> dict[str, str]:
    kpis = [
        coverage_kpis(plan, region.members(t), r, region.horizon, holidays=region.holidays)
        for t, r in zip(region.territories, region.reps, strict=True)
    ]
    return summarise(name, kpis, secs)


def ratios(a: dict[str, str], b: dict[str, str]) -> str:
    def ratio(key: str) -> float:
        return float(a[key]) / max(1e-9, float(b[key]))

    placed = int(a["scheduled"]) - int(b["scheduled"])
    return (
        f"drive hours {ratio('drive_h'):.3f}, workload std {ratio('workload_std_h'):.3f}, "
        f"adherence {a['adherence']} vs {b['adherence']}, visits placed {placed:+d}"
    )


def match_times(new: list[Trace], old: list[Trace]) -> list[tuple[float, float, float | None]]:
    """Per territory: previous final objective, new final objective, and the first second at
    which the new search had a plan at least as good as the previous final one."""
    out = []
    for n, o in zip(new, old, strict=True):
        target = o[-1][1]
        hit = next((sec for sec, best in n if best <= target + 1e-6 * abs(target)), None)
        out.append((target, n[-1][1], hit))
    return out


def repair_summary(region: Region, ours: Plan, limit: float, seed: int) -> str:
    """10 % of week 1 missed per rep, re-planned from Monday of week 2 (1 frozen day)."""
    rng = random.Random(seed)
    today = region.horizon.start + timedelta(days=7)
    missed_total = moved = changed = added = dropped = 0
    t_repair = 0.0
    for t, rep in zip(region.territories, region.reps, strict=True):
        week1 = [s for r in ours.routes_of(rep.rep_id) if r.day < today for s in r.stops]
        missed = rng.sample(week1, max(1, len(week1) // 10))
        records = [VisitOutcome(visit_id=s.visit_id, status=VisitStatus.MISSED) for s in missed]
        t0 = time.perf_counter()
        result = repair_plan(
            Plan(routes=ours.routes_of(rep.rep_id)),
            region.members(t),
            rep,
            region.horizon,
            region.travel,
            today=today,
            records=records,
            holidays=region.holidays,
            time_limit_s=limit,
        )
        t_repair += time.perf_counter() - t0
        missed_total += len(missed)
        moved += len(result.changes.moved)
        changed += result.changes.size
        added += len(result.changes.added)
        dropped += len(result.changes.dropped)
    return (
        f"repair: missed {missed_total}, moved {moved} "
        f"(ratio {moved / max(1, missed_total):.2f}, target < 3), "
        f"added {added} (rescheduled), dropped {dropped}, "
        f"all changes {changed}, {t_repair:.1f} s for {len(region.reps)} reps"
    )


def designed_territories(
    accounts: list[Account], reps: list[Rep], travel: TravelTimeProvider
) -> list[Territory]:
    """The territories `make run` designs (4 weeks), in the reps' order."""
    from routeplanner.territories.design import design_territories

    design = design_territories(accounts, reps, travel, horizon_days=28)
    by_rep = {t.rep_id: t for t in design.territories}
    return [by_rep[r.rep_id] for r in reps]


def load_region(roads: bool, start: date = START, *, designed: bool = False) -> Region:
    accounts = read_accounts(SAMPLE / "accounts.csv")
    reps = read_reps(SAMPLE / "reps.csv")
    travel: TravelTimeProvider = HaversineTravel()
    if roads:
        from routeplanner.roads.graph import load_road_graph
        from routeplanner.travel.road import RoadTravel

        cache = Path(__file__).resolve().parent.parent / "var" / "cache"
        travel = RoadTravel(load_road_graph(SAMPLE / "heidelberg.osm.pbf", cache_dir=cache))
    return Region(
        accounts=accounts,
        reps=reps,
        territories=(
            designed_territories(accounts, reps, travel)
            if designed
            else balanced_territories(accounts, reps)
        ),
        horizon=Horizon(start=start, weeks=4),
        holidays=read_holidays(SAMPLE / "holidays-de-bw.csv"),
        travel=travel,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=25.0, help="seconds per territory")
    ap.add_argument("--quick", type=float, default=5.0, help="shorter limit for the new engine")
    ap.add_argument("--csv", type=Path, default=Path("benchmarks/out/schedule_sample.csv"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--roads", action="store_true", help="real road times from the sample OSM extract"
    )
    ap.add_argument(
        "--start",
        type=date.fromisoformat,
        default=START,
        help="first day of the 4 weeks (YYYY-MM-DD; a Monday), e.g. 2026-12-07 for the"
        " holiday month",
    )
    ap.add_argument(
        "--territories",
        choices=("balanced", "designed"),
        default="balanced",
        help="nearest home with a workload cap, or designed as `make run` designs them",
    )
    args = ap.parse_args(argv)
    region = load_region(args.roads, args.start, designed=args.territories == "designed")
    warm_up()
    rows: list[dict[str, str]] = []
    traces: dict[str, list[Trace]] = {"routeplanner": [], "previous": []}
    plans: dict[str, Plan] = {}
    runs: list[tuple[str, PeriodicSearch, float]] = [
        ("routeplanner", recorded(solve_hgs, traces["routeplanner"]), args.time_limit),
        ("previous", recorded(solve_periodic, traces["previous"]), args.time_limit),
        (f"routeplanner@{args.quick:g}s", solve_hgs, args.quick),
    ]
    for name, search, limit in runs:
        t0 = time.perf_counter()
        plans[name] = plan_region(region, search, limit, args.seed)
        rows.append(kpi_row(region, name, plans[name], time.perf_counter() - t0))
    t0 = time.perf_counter()
    naive = merge_plans(
        [
            naive_plan(region.members(t), r, region.horizon, region.holidays, region.travel)
            for t, r in zip(region.territories, region.reps, strict=True)
        ]
    )
    rows.append(kpi_row(region, "naive", naive, time.perf_counter() - t0))
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for row in rows:
        print(",".join(f"{k}={v}" for k, v in row.items()))
    ours = rows[0]
    for other in (rows[1], rows[-1]):
        print(f"{ours['solver']}/{other['solver']}: {ratios(ours, other)}")
    match = match_times(traces["routeplanner"], traces["previous"])
    for t, (old, new, hit) in zip(region.territories, match, strict=True):
        when = f"after {hit:.1f} s" if hit is not None else "not within the limit"
        print(
            f"{t.territory_id}: search objective previous {old:.0f}, routeplanner {new:.0f}; "
            f"routeplanner as good as previous: {when}"
        )
    print(repair_summary(region, plans["routeplanner"], args.time_limit / 3, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
