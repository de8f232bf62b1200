"""Sample region, 4 weeks, all reps: routeplanner's scheduler vs a naive baseline, and repair.

    python -m benchmarks.schedule_sample [--time-limit SECONDS] [--csv OUT]

Territories: nearest rep home under an equal-workload cap (the territory designer is separate).
Travel: straight-line (HaversineTravel, 1.3 detour at 40 km/h), or with ``--roads`` real road
times on the sample OSM extract. The naive baseline gives each due visit the first allowed day
of its window that still has room (max visits, shift time estimate), orders each day by nearest
neighbour and times it with the same day router. Repair: 10 % of week 1's visits are marked
missed (seeded), re-planned from Monday of week 2 with 1 frozen day.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from routeplanner.io.accounts import read_accounts
from routeplanner.io.holidays import read_holidays
from routeplanner.io.reps import read_reps
from routeplanner.model import Account, DayRoute, Horizon, Plan, Rep, Territory, Unassigned
from routeplanner.model.history import VisitStatus
from routeplanner.planner import merge_plans, plan_all
from routeplanner.scheduling.calendar import usable_shift_s, visitable_days, working_days
from routeplanner.scheduling.day_router import DayJob, sequence_day_router
from routeplanner.scheduling.frequency import visit_options
from routeplanner.scheduling.kpi import CoverageKpis, coverage_kpis
from routeplanner.scheduling.repair import VisitOutcome, repair_plan
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=30.0, help="seconds per territory")
    ap.add_argument("--csv", type=Path, default=Path("benchmarks/out/schedule_sample.csv"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--roads", action="store_true", help="real road times from the sample OSM extract"
    )
    args = ap.parse_args(argv)
    accounts = read_accounts(SAMPLE / "accounts.csv")
    reps = read_reps(SAMPLE / "reps.csv")
    holidays = read_holidays(SAMPLE / "holidays-de-bw.csv")
    horizon = Horizon(start=START, weeks=4)
    territories = balanced_territories(accounts, reps)
    travel: TravelTimeProvider = HaversineTravel()
    if args.roads:
        from routeplanner.roads.graph import load_road_graph
        from routeplanner.travel.road import RoadTravel

        cache = Path(__file__).resolve().parent.parent / "var" / "cache"
        travel = RoadTravel(load_road_graph(SAMPLE / "heidelberg.osm.pbf", cache_dir=cache))
    by_id = {a.account_id: a for a in accounts}
    rows: list[dict[str, str]] = []

    t0 = time.perf_counter()
    ours = plan_all(
        accounts,
        reps,
        territories,
        horizon,
        travel,
        holidays=holidays,
        time_limit_s=args.time_limit,
        seed=args.seed,
    )
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    naive = merge_plans(
        [
            naive_plan([by_id[a] for a in t.account_ids], r, horizon, holidays, travel)
            for t, r in zip(territories, reps, strict=True)
        ]
    )
    t_naive = time.perf_counter() - t0
    for name, plan, secs in (("routeplanner", ours, t_ours), ("naive", naive, t_naive)):
        kpis = [
            coverage_kpis(plan, [by_id[a] for a in t.account_ids], r, horizon, holidays=holidays)
            for t, r in zip(territories, reps, strict=True)
        ]
        rows.append(summarise(name, kpis, secs))

    # Repair: 10 % of week 1 missed, re-plan from Monday of week 2 (1 frozen day).
    rng = random.Random(args.seed)
    today = START + timedelta(days=7)
    missed_total = 0
    moved_total = 0
    changed_total = 0
    added_total = 0
    dropped_total = 0
    t_repair = 0.0
    for t, rep in zip(territories, reps, strict=True):
        week1 = [s for r in ours.routes_of(rep.rep_id) if r.day < today for s in r.stops]
        missed = rng.sample(week1, max(1, len(week1) // 10))
        records = [VisitOutcome(visit_id=s.visit_id, status=VisitStatus.MISSED) for s in missed]
        t0 = time.perf_counter()
        result = repair_plan(
            Plan(routes=ours.routes_of(rep.rep_id)),
            [by_id[a] for a in t.account_ids],
            rep,
            horizon,
            travel,
            today=today,
            records=records,
            holidays=holidays,
            time_limit_s=args.time_limit / 3,
        )
        t_repair += time.perf_counter() - t0
        missed_total += len(missed)
        moved_total += len(result.changes.moved)
        changed_total += result.changes.size
        added_total += len(result.changes.added)
        dropped_total += len(result.changes.dropped)
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for row in rows:
        print(",".join(f"{k}={v}" for k, v in row.items()))
    o, n = rows[0], rows[1]
    print(
        f"drive hours ours/naive = {float(o['drive_h']) / max(1e-9, float(n['drive_h'])):.3f}; "
        f"workload std ours/naive = "
        f"{float(o['workload_std_h']) / max(1e-9, float(n['workload_std_h'])):.3f}"
    )
    print(
        f"repair: missed {missed_total}, moved {moved_total} "
        f"(ratio {moved_total / max(1, missed_total):.2f}, target < 3), "
        f"added {added_total} (rescheduled), dropped {dropped_total}, "
        f"all changes {changed_total}, {t_repair:.1f} s for {len(reps)} reps"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
