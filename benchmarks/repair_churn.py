"""How many visits a repair changes per report, against the repair it replaced, on the sample.

    python -m benchmarks.repair_churn [--reports 1,5,20] [--trials 10] [--csv OUT]

The bundled Heidelberg sample (300 accounts, 4 reps) on its real road graph: territories
designed as ``make run`` does, 4 weeks planned from ``--start``. Each trial picks a "today"
in the first two weeks and ``n`` random reports of visits planned up to that day (random
reps and days; missed 50 %, done 30 %, cancelled 20 %), then repairs every territory once
with them, as ``routeplanner repair`` does, with 1 frozen day. A changed visit is one added,
dropped, moved to another day or re-ordered among its day's other visits
(:func:`routeplanner.scheduling.changes.plan_changes`). Printed per number of reports and
repair: changed visits per report (mean and max over trials), changes for reps who reported
nothing and on frozen days (both must be 0), and seconds per repair of all territories.
The baseline is the previous repair (``benchmarks.repair_baseline``) on the same reports.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from benchmarks.repair_baseline import baseline_repair
from routeplanner.io.accounts import read_accounts
from routeplanner.io.holidays import read_holidays
from routeplanner.io.reps import read_reps
from routeplanner.model import Account, Horizon, Plan, Rep, Territory
from routeplanner.model.history import VisitStatus
from routeplanner.planner import merge_plans, plan_all
from routeplanner.scheduling.changes import plan_changes
from routeplanner.scheduling.repair import VisitOutcome, frozen_until, repair_plan
from routeplanner.travel.provider import TravelTimeProvider

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
START = date(2026, 12, 7)
"""The Monday of the reported run: R1 and R2 are on leave in its last weeks."""
STATUSES = (VisitStatus.MISSED, VisitStatus.DONE, VisitStatus.CANCELLED)
WEIGHTS = (0.5, 0.3, 0.2)


@dataclass(frozen=True, slots=True)
class Sample:
    accounts: list[Account]
    reps: list[Rep]
    territories: list[Territory]
    horizon: Horizon
    holidays: frozenset[date]
    plan: Plan
    travel: TravelTimeProvider


def planned_sample(start: date, plan_time_limit_s: float, seed: int = 0) -> Sample:
    """The sample as ``make run`` plans it: road travel, designed territories, 4 weeks."""
    from routeplanner.roads.graph import load_road_graph
    from routeplanner.territories.design import design_territories
    from routeplanner.travel.road import RoadTravel

    cache = Path(__file__).resolve().parent.parent / "var" / "cache"
    travel = RoadTravel(load_road_graph(SAMPLE / "heidelberg.osm.pbf", cache_dir=cache))
    accounts = read_accounts(SAMPLE / "accounts.csv")
    reps = read_reps(SAMPLE / "reps.csv")
    holidays = read_holidays(SAMPLE / "holidays-de-bw.csv")
    horizon = Horizon(start=start, weeks=4, timezone="Europe/Berlin")
    territories = list(design_territories(accounts, reps, travel, horizon_days=28).territories)
    plan = plan_all(
        accounts,
        reps,
        territories,
        horizon,
        travel,
        holidays=holidays,
        time_limit_s=plan_time_limit_s,
        seed=seed,
    )
    return Sample(accounts, reps, territories, horizon, holidays, plan, travel)


RepairOne = Callable[[Sample, Rep, list[Account], date, list[VisitOutcome]], Plan]


def new_repair(
    s: Sample, rep: Rep, accounts: list[Account], today: date, records: list[VisitOutcome]
) -> Plan:
    return repair_plan(
        s.plan, accounts, rep, s.horizon, s.travel, today=today, records=records,
        holidays=s.holidays, time_limit_s=3.0,
    ).plan  # fmt: skip


def old_repair(
    s: Sample, rep: Rep, accounts: list[Account], today: date, records: list[VisitOutcome]
) -> Plan:
    return baseline_repair(
        s.plan, accounts, rep, s.horizon, s.travel, today=today, records=records,
        holidays=s.holidays, time_limit_s=3.0,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Trial:
    """One repair of every territory after ``reports`` reports."""

    reports: int
    missed: int
    changed: int
    changed_by_others: int
    changed_frozen: int
    seconds: float


def random_reports(
    s: Sample, n: int, rng: random.Random
) -> tuple[date, dict[str, list[VisitOutcome]]]:
    """A today in the first two weeks and ``n`` reports of visits up to it, by rep."""
    days = sorted({r.day for r in s.plan.routes if r.day < s.horizon.start + timedelta(days=14)})
    today = rng.choice(days[1:])
    stops = [(r.rep_id, st.visit_id) for r in s.plan.routes if r.day <= today for st in r.stops]
    by_rep: dict[str, list[VisitOutcome]] = {}
    for rep_id, vid in rng.sample(stops, min(n, len(stops))):
        status = rng.choices(STATUSES, WEIGHTS)[0]
        by_rep.setdefault(rep_id, []).append(VisitOutcome(visit_id=vid, status=status))
    return today, by_rep


def run_trial(
    s: Sample, today: date, by_rep: dict[str, list[VisitOutcome]], repair: RepairOne
) -> Trial:
    by_id = {a.account_id: a for a in s.accounts}
    reps = {r.rep_id: r for r in s.reps}
    plans: list[Plan] = []
    t0 = time.perf_counter()
    for t in s.territories:
        rep = reps[t.rep_id or ""]
        accounts = [by_id[a] for a in t.account_ids]
        plans.append(repair(s, rep, accounts, today, by_rep.get(rep.rep_id, [])))
    seconds = time.perf_counter() - t0
    new = merge_plans(plans)
    changed = others = frozen = 0
    for rep in s.reps:
        cut = frozen_until(rep, today, 1, s.horizon)
        later = plan_changes(s.plan, new, rep.rep_id, first=cut + timedelta(days=1)).size
        frozen += plan_changes(s.plan, new, rep.rep_id, last=cut).size
        changed += later
        if rep.rep_id not in by_rep:
            others += later
    records = [r for rs in by_rep.values() for r in rs]
    missed = sum(1 for r in records if r.status is VisitStatus.MISSED)
    return Trial(len(records), missed, changed, others, frozen, seconds)


def summarise(name: str, n: int, trials: Sequence[Trial]) -> dict[str, str]:
    per_report = [t.changed / t.reports for t in trials]
    missed = sum(t.missed for t in trials)
    return {
        "repair": name,
        "reports": str(n),
        "trials": str(len(trials)),
        "missed": str(missed),
        "changed_per_report_mean": f"{sum(per_report) / len(per_report):.2f}",
        "changed_per_report_max": f"{max(per_report):.2f}",
        "changed_per_missed": f"{sum(t.changed for t in trials) / max(1, missed):.2f}",
        "changed_other_reps": str(sum(t.changed_by_others for t in trials)),
        "changed_frozen": str(sum(t.changed_frozen for t in trials)),
        "seconds_mean": f"{sum(t.seconds for t in trials) / len(trials):.2f}",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--start", type=date.fromisoformat, default=START, help="a Monday")
    ap.add_argument("--plan-time-limit", type=float, default=10.0, help="s per territory")
    ap.add_argument("--reports", default="1,5,20", help="comma-separated report counts")
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-baseline", action="store_true", help="skip the previous repair")
    ap.add_argument("--csv", type=Path, default=Path("benchmarks/out/repair_churn.csv"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    sample = planned_sample(args.start, args.plan_time_limit, args.seed)
    planned = sum(len(r.stops) for r in sample.plan.routes)
    print(f"sample planned: {planned} visits, {time.perf_counter() - t0:.0f} s", flush=True)
    methods: list[tuple[str, RepairOne]] = [("lexicographic", new_repair)]
    if not args.no_baseline:
        methods.append(("baseline", old_repair))
    rows: list[dict[str, str]] = []
    for n in (int(x) for x in args.reports.split(",")):
        results: dict[str, list[Trial]] = {name: [] for name, _ in methods}
        for k in range(args.trials):
            today, by_rep = random_reports(sample, n, random.Random(args.seed * 7919 + n * 101 + k))
            for name, repair in methods:
                results[name].append(run_trial(sample, today, by_rep, repair))
        for name, _ in methods:
            rows.append(summarise(name, n, results[name]))
            print(",".join(f"{k}={v}" for k, v in rows[-1].items()), flush=True)
        if not args.no_baseline:
            ours, theirs = rows[-2], rows[-1]
            ratio = float(theirs["changed_per_report_mean"]) / max(
                0.01, float(ours["changed_per_report_mean"])
            )
            print(f"{n} reports: baseline / lexicographic changed visits = {ratio:.1f}")
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
