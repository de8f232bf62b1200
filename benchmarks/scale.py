"""A whole sales force end to end, once per worker count: design territories, plan, repair.

    python -m benchmarks.scale --osm PATH --accounts N --reps K --weeks W --workers 1,2 \\
        --csv OUT [--time-limit S] [--seed N] [--design-kpis]

Generates N accounts at random road positions of the extract (seeded; weekly, 2-weekly and
4-weekly visits, shop or office opening hours) and K reps living among them, stores them in a
fresh SQLite database and runs the service layer's use cases as the product does: the first
territory design (at organisation scale its region jobs on the same workers), a plan of W
weeks (territory jobs fanned out on Ray over the given number of local workers; 1 = in
process), and one rep's repair after a missed visit. One CSV row per worker count with the
required columns, then the projected makespan of the measured per-territory task times on 8,
32 and 128 workers (longest task first onto the least loaded worker) and ``repair_one_s``.
The per-territory times go to ``OUT`` with ``.tasks.csv``. ``--design-kpis`` adds the stored
design's workload deviation and enclave accounts as ``territories show`` measures them.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import os
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from scipy.cluster.vq import kmeans2

from routeplanner.fanout import FanoutConfig, RayMapper
from routeplanner.io.opening_hours import parse_opening_hours
from routeplanner.model import (
    Account,
    GeoPoint,
    LunchBreak,
    Rep,
    TimeWindow,
    VisitRule,
    WeeklyHours,
)
from routeplanner.model.history import VisitStatus
from routeplanner.planner import JobContext, JobOutcome, TerritoryDone, TerritoryJob
from routeplanner.roads.graph import load_road_graph
from routeplanner.roads.snap import random_road_points
from routeplanner.scheduling.scheduler import Progress
from routeplanner.services import planning, repair
from routeplanner.services.planning import PlanningSetup, PlanParams
from routeplanner.services.repair import RepairParams, VisitParams
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.territories.metrics import compute_kpis
from routeplanner.travel.road import RoadTravel
from routeplanner.units import HOUR, MINUTE

COLUMNS = [
    "workers",
    "accounts",
    "reps",
    "weeks",
    "design_s",
    "plan_s",
    "total_s",
    "visits_required",
    "visits_planned",
    "peak_rss_mb",
]
EXTRA = [
    "makespan_8_s",
    "makespan_32_s",
    "makespan_128_s",
    "repair_one_s",
    "tree_peak_rss_mb",
    "failed",
    "design_max_dev_pct",
    "design_enclaves",
]
RULES = ("weekly", "every 2 weeks", "every 4 weeks")
RULE_P = (0.2, 0.4, 0.4)
SHOP = parse_opening_hours("Mo-Fr 09:00-18:00; Sa 09:00-13:00")
OFFICE = parse_opening_hours("Mo-Fr 08:00-12:00,13:00-17:00")
LATE = parse_opening_hours("Mo-Fr 10:00-19:00")
START = date(2026, 11, 23)  # a Monday


def make_accounts(travel: RoadTravel, n: int, seed: int) -> list[Account]:
    rng = np.random.default_rng(seed)
    lat, lon = random_road_points(travel.graph, n, seed=seed)
    hours = (SHOP, OFFICE, LATE)
    return [
        Account(
            account_id=f"A{i:05d}",
            name=f"Account {i}",
            location=GeoPoint(float(a), float(b)),
            visit_rule=VisitRule.parse(str(rng.choice(RULES, p=RULE_P))),
            visit_duration_s=int(rng.choice([20, 30, 45])) * MINUTE,
            opening_hours=hours[int(rng.integers(len(hours)))],
        )
        for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]


def make_reps(accounts: Sequence[Account], k: int, seed: int) -> list[Rep]:
    """Reps live among their customers: at the accounts nearest to k-means centres."""
    pts = np.array([(a.location.lat, a.location.lon) for a in accounts])
    centres, _ = kmeans2(pts, k, minit="++", seed=seed)
    chosen = [int(np.argmin(((pts - c) ** 2).sum(axis=1))) for c in centres]
    return [
        Rep(
            rep_id=f"R{j:03d}",
            name=f"Rep {j}",
            home=accounts[i].location,
            working_hours=WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR)),
            lunch=LunchBreak(window=TimeWindow(12 * HOUR, 14 * HOUR), duration_s=30 * MINUTE),
        )
        for j, i in enumerate(chosen)
    ]


@dataclass
class Recording:
    """The service's mapper, keeping each run's per-territory task times."""

    inner: RayMapper
    done: list[TerritoryDone] = field(default_factory=list)

    def __call__(
        self, jobs: Sequence[TerritoryJob], context: JobContext, progress: Progress | None
    ) -> Sequence[JobOutcome]:
        outcomes = self.inner(jobs, context, progress)
        self.done = [o for o in outcomes if isinstance(o, TerritoryDone)]
        return outcomes


def tree_peak_rss_mb() -> int:
    """Peak RSS of this process plus its living descendants (the Ray processes it started):
    a bound on the run's peak memory, as the peaks need not coincide (Linux /proc)."""
    children: dict[int, list[int]] = {}
    peaks: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue  # the process ended while we looked
        pid = int(status.parent.name)
        children.setdefault(int(fields["PPid"]), []).append(pid)
        peaks[pid] = int(fields.get("VmHWM", "0 kB").split()[0])
    total, todo = 0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += peaks.get(pid, 0)
        todo.extend(children.get(pid, []))
    return round(total / 1024)


def makespan(seconds: Sequence[float], workers: int) -> float:
    """Longest task first onto the least loaded worker (within 4/3 of the optimum)."""
    loads = [0.0] * min(workers, max(1, len(seconds)))
    for s in sorted(seconds, reverse=True):
        heapq.heapreplace(loads, loads[0] + s)
    return max(loads)


def run_once(
    args: argparse.Namespace, workers: int, travel: RoadTravel
) -> tuple[dict[str, object], list[float]]:
    accounts = make_accounts(travel, args.accounts, args.seed)
    reps = make_reps(accounts, args.reps, args.seed)
    folder = Path(tempfile.mkdtemp(prefix="rp-scale-"))
    store = Store.open(f"sqlite:///{folder / 'scale.sqlite'}")
    with store.transaction("benchmark inputs") as tx:
        tx.accounts.replace_all(accounts, source="benchmark")
        tx.reps.replace_all(reps, source="benchmark")
    mapper = Recording(RayMapper(FanoutConfig(workers=workers, min_jobs=2)))
    setup = PlanningSetup(timezone="Europe/Berlin", jobs=mapper)
    params = PlanParams(start=START, weeks=args.weeks, time_limit_s=args.time_limit)
    started = time.perf_counter()
    planning.ensure_territories(
        store, accounts, reps, travel, horizon_days=7 * args.weeks, jobs=mapper.inner
    )
    design_s = time.perf_counter() - started
    started = time.perf_counter()
    result = planning.run_planning(store, travel, params, setup)
    plan_s = time.perf_counter() - started
    kpis = planning.coverage(
        result.plan, accounts, reps, result.territories, params.horizon("Europe/Berlin")
    )
    repair_s = repair_one(store, travel, setup)
    tree_mb = tree_peak_rss_mb()
    mapper.inner.close()
    seconds = [d.seconds for d in mapper.done]
    row: dict[str, object] = {
        "workers": workers,
        "accounts": len(accounts),
        "reps": len(reps),
        "weeks": args.weeks,
        "design_s": round(design_s, 1),
        "plan_s": round(plan_s, 1),
        "total_s": round(design_s + plan_s, 1),
        "visits_required": sum(k.required_visits for k in kpis.values()),
        "visits_planned": sum(len(r.stops) for r in result.plan.routes),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "repair_one_s": round(repair_s, 1),
        "tree_peak_rss_mb": tree_mb,
        "failed": result.plan.meta.get("failed_territories", ""),
    }
    for p in (8, 32, 128):
        row[f"makespan_{p}_s"] = round(makespan(seconds, p), 1)
    if args.design_kpis:
        # After the memory figures: the measure builds an all-pairs matrix of the accounts.
        max_dev, enclaves = design_quality(store, accounts, reps, travel, args.weeks)
        row["design_max_dev_pct"] = round(max_dev, 2)
        row["design_enclaves"] = enclaves
    return row, seconds


def design_quality(
    store: Store, accounts: Sequence[Account], reps: Sequence[Rep], travel: RoadTravel, weeks: int
) -> tuple[float, int]:
    """The stored design's largest workload deviation (%) and its enclave accounts, measured
    as ``territories show`` measures them: from the stored territories alone, on the
    organisation's graph (:mod:`routeplanner.territories.org_graph`) at organisation scale."""
    with store.read() as tx:
        territories = tx.territories.all()
    kpis = compute_kpis(territories, accounts, reps, travel, horizon_days=7 * weeks, start=START)
    return kpis.max_workload_dev_pct, kpis.contiguity_violations


def repair_one(store: Store, travel: RoadTravel, setup: PlanningSetup) -> float:
    """The service's repair of one rep's territory after their first visit is reported
    missed (what a report from the rep's phone starts)."""
    _, plan, _ = planning.current_plan(store)
    first = min(plan.routes, key=lambda r: (r.day, r.rep_id))
    visit = VisitParams(visit_id=first.stops[0].visit_id, status=VisitStatus.MISSED)
    repair.record_visit(store, visit, user=None)
    params = RepairParams(today=first.day, frozen_days=0, time_limit_s=1.0)
    started = time.perf_counter()
    repair.repair_current_plan(store, travel, params, setup, rep_id=first.rep_id)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--osm", type=Path, required=True)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--time-limit", type=float, default=20.0, help="search s per territory")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument(
        "--design-kpis",
        action="store_true",
        help="also measure the stored design as `territories show` does (all pairs of accounts)",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    graph = load_road_graph(args.osm, cache_dir=settings.cache_dir, model=settings.road_model)
    travel = RoadTravel(graph, max_snap_m=settings.max_snap_m)
    rows, tasks = [], []
    for workers in (int(w) for w in args.workers.split(",")):
        row, seconds = run_once(args, workers, travel)
        rows.append(row)
        tasks.append(seconds)
        print(", ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    with args.csv.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS + EXTRA)
        writer.writeheader()
        writer.writerows(rows)
    with args.csv.with_suffix(".tasks.csv").open("w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["workers", "task", "seconds"])
        for row, seconds in zip(rows, tasks, strict=True):
            w.writerows([row["workers"], i, round(s, 2)] for i, s in enumerate(seconds))
    first = rows[0]
    for row in rows[1:]:
        total = float(str(first["total_s"])) / float(str(row["total_s"]))
        plan = float(str(first["plan_s"])) / float(str(row["plan_s"]))
        print(
            f"{row['workers']} workers vs {first['workers']}: {total:.2f}x total, {plan:.2f}x plan"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
