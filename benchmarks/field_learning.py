"""Learning from the field: ETA error before and after fitting travel factors and visit times.

    python -m benchmarks.field_learning [--weeks 8] [--train-weeks 6] [--seed S]
        [--haversine] --csv OUT

A simulation with a known truth. The sample region's accounts go to their nearest rep, each
rep's accounts to five weekdays (a sweep around home), each day in nearest-neighbour order from
08:00, planned with the road model and the accounts' planned visit minutes. The "true" world
differs in a known way: every rep drives at a pace of their own (x 0.85-1.35 the planned
times), every account's visits run long or short (log-normal, sd 0.3), each drive and visit is
noisy (log-normal, sd 0.12 and 0.2), 4 % of drives hide an errand of 20-90 min, 3 % of visits a
forgotten check-out of 45-150 min, and 5 % of check-ins and 3 % of check-outs are never
recorded. Reps record check-in and done times; the first ``--train-weeks`` weeks are learned
from (per-rep travel factors, per-account visit lengths, :mod:`routeplanner.learning`), and the
remaining weeks' ETAs are compared with the truth, planned without and with what was learned.
Reported: median and 90th percentile of the absolute ETA error (minutes) over every stop of the
test weeks, for the day's plan made at 08:00 (errors add up over the day) and for the next stop
predicted on leaving the one before (the drive alone), and how well each rep's pace was
recovered.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

from routeplanner.io.accounts import read_accounts
from routeplanner.io.reps import read_reps
from routeplanner.learning import (
    Fit,
    Leg,
    Recorded,
    Stay,
    fit_travel_factors,
    fit_visit_durations,
    observations_from_day,
)
from routeplanner.model import Account, Rep
from routeplanner.model.plan import DayRoute, Stop
from routeplanner.settings import SAMPLE_DIR, Settings
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider

COLUMNS = ["model", "eta", "stops", "median_abs_eta_error_min", "p90_abs_eta_error_min"]
DAY_START_S = 8 * 3600
PLAN_DAY = date(2027, 1, 4)  # any Monday: the simulated days only need one
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Truth:
    """The known world: per-rep pace and per-account visit-length factors, and noise."""

    pace: dict[str, float]
    visit: dict[str, float]
    drive_sd: float = 0.12
    visit_sd: float = 0.2
    errand_share: float = 0.04
    forgot_share: float = 0.03
    no_check_in: float = 0.05
    no_done: float = 0.03


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One rep's planned weekday: accounts in order with planned drives (s) and visits (s)."""

    rep_id: str
    accounts: tuple[str, ...]
    drive_s: tuple[int, ...]
    visit_s: tuple[int, ...]


def plan_days(
    accounts: list[Account], reps: list[Rep], travel: TravelTimeProvider, per_day: int
) -> list[DayPlan]:
    """Nearest rep, five sweeps around home (the first ``per_day`` of each), nearest-neighbour."""
    homes = np.array([(r.home.lat, r.home.lon) for r in reps])
    days = []
    for k, rep in enumerate(reps):
        mine = [
            a
            for a in accounts
            if int(np.argmin(np.hypot(*(homes - (a.location.lat, a.location.lon)).T))) == k
        ]
        angle = [
            math.atan2(a.location.lat - rep.home.lat, a.location.lon - rep.home.lon) for a in mine
        ]
        order = np.argsort(angle)
        for chunk in np.array_split(order, 5):
            day = [mine[i] for i in chunk[:per_day]]
            if day:
                days.append(_route_day(rep, day, travel))
    return days


def _route_day(rep: Rep, day: list[Account], travel: TravelTimeProvider) -> DayPlan:
    points = [rep.home, *(a.location for a in day)]
    seconds = travel.matrix(points).durations_s
    here, left, route = 0, set(range(1, len(points))), []
    while left:
        here = min(left, key=lambda j: (seconds[here, j], j))
        left.remove(here)
        route.append(here)
    drives = [int(seconds[a, b]) for a, b in zip([0, *route[:-1]], route, strict=True)]
    return DayPlan(
        rep_id=rep.rep_id,
        accounts=tuple(day[j - 1].account_id for j in route),
        drive_s=tuple(drives),
        visit_s=tuple(day[j - 1].visit_duration_s for j in route),
    )


def simulate(
    day: DayPlan, truth: Truth, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, dict[str, Recorded]]:
    """True arrival and departure times of one run of the day, and what the rep recorded."""
    clock = float(DAY_START_S)
    arrivals = np.zeros(len(day.accounts))
    departures = np.zeros(len(day.accounts))
    recorded = {}
    for k, (account, drive, visit) in enumerate(
        zip(day.accounts, day.drive_s, day.visit_s, strict=True)
    ):
        driven = drive * truth.pace[day.rep_id] * math.exp(rng.normal(0, truth.drive_sd))
        if rng.random() < truth.errand_share:
            driven += rng.uniform(20, 90) * 60
        clock += driven
        arrivals[k] = clock
        stayed = visit * truth.visit[account] * math.exp(rng.normal(0, truth.visit_sd))
        done = clock + stayed
        reported_done = done + (
            rng.uniform(45, 150) * 60 if rng.random() < truth.forgot_share else 0
        )
        recorded[f"{day.rep_id}-{k}"] = Recorded(
            visit_id=f"{day.rep_id}-{k}",
            check_in_s=None if rng.random() < truth.no_check_in else round(clock),
            done_s=None if rng.random() < truth.no_done else round(reported_done),
        )
        clock = departures[k] = done
    return arrivals, departures, recorded


def as_route(day: DayPlan) -> DayRoute:
    clock, stops = DAY_START_S, []
    for k, (account, drive, visit) in enumerate(
        zip(day.accounts, day.drive_s, day.visit_s, strict=True)
    ):
        clock += drive
        stops.append(
            Stop(
                visit_id=f"{day.rep_id}-{k}",
                account_id=account,
                arrival_s=clock,
                start_s=clock,
                departure_s=clock + visit,
                travel_s=drive,
                distance_m=0,
            )
        )
        clock += visit
    return DayRoute(
        rep_id=day.rep_id, day=PLAN_DAY, start_s=DAY_START_S, end_s=clock, stops=tuple(stops)
    )


def next_stop_etas(day: DayPlan, factors: Fit | None, departures: FloatArray) -> FloatArray:
    """Arrival times predicted on leaving each stop (the true departure) for the next one."""
    pace = 1.0
    if factors is not None and day.rep_id in factors.estimates:
        pace = factors.estimates[day.rep_id].value
    left = np.concatenate([[float(DAY_START_S)], departures[:-1]])
    return left + np.asarray(day.drive_s, dtype=float) * pace


def etas(day: DayPlan, factors: Fit | None, visits: Fit | None) -> FloatArray:
    """Planned arrival times, with learned pace and visit lengths where there are estimates."""
    pace = 1.0
    if factors is not None and day.rep_id in factors.estimates:
        pace = factors.estimates[day.rep_id].value
    clock = float(DAY_START_S)
    out = np.zeros(len(day.accounts))
    for k, (account, drive, visit) in enumerate(
        zip(day.accounts, day.drive_s, day.visit_s, strict=True)
    ):
        clock += drive * pace
        out[k] = clock
        length = float(visit)
        if visits is not None and account in visits.estimates:
            length = visits.estimates[account].value
        clock += length
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--train-weeks", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stops", type=int, default=20, help="visits per rep-day at most")
    parser.add_argument("--haversine", action="store_true", help="straight lines, not roads")
    parser.add_argument("--csv", type=Path, required=True)
    args = parser.parse_args(argv)
    if not 0 < args.train_weeks < args.weeks:
        parser.error("--train-weeks must be between 1 and --weeks - 1")

    accounts = read_accounts(SAMPLE_DIR / "accounts.csv")
    reps = read_reps(SAMPLE_DIR / "reps.csv")
    travel: TravelTimeProvider
    if args.haversine:
        travel = HaversineTravel()
    else:
        from routeplanner.roads.graph import load_road_graph
        from routeplanner.travel.road import RoadTravel

        settings = Settings()
        travel = RoadTravel(load_road_graph(settings.osm_path, cache_dir=settings.cache_dir))
    rng = np.random.default_rng(args.seed)
    truth = Truth(
        pace={r.rep_id: float(rng.uniform(0.85, 1.35)) for r in reps},
        visit={a.account_id: float(math.exp(rng.normal(0, 0.3))) for a in accounts},
    )
    days = plan_days(accounts, reps, travel, args.stops)
    legs: list[Leg] = []
    stays: list[Stay] = []
    tests: list[tuple[DayPlan, FloatArray, FloatArray]] = []
    for week in range(args.weeks):
        for day in days:
            arrivals, departures, recorded = simulate(day, truth, rng)
            if week < args.train_weeks:
                found_legs, found_stays = observations_from_day(
                    as_route(day), recorded, left_home_s=DAY_START_S
                )
                legs += found_legs
                stays += found_stays
            else:
                tests.append((day, arrivals, departures))
    factors = fit_travel_factors(legs)
    visits = fit_visit_durations(stays)
    rows = []
    for name, f, v in (("planned", None, None), ("learned", factors, visits)):
        plan = np.concatenate([np.abs(etas(day, f, v) - true) / 60 for day, true, _ in tests])
        live = np.concatenate(
            [np.abs(next_stop_etas(day, f, left) - true) / 60 for day, true, left in tests]
        )
        for kind, error in (("day plan", plan), ("next stop", live)):
            rows.append(
                [
                    name,
                    kind,
                    len(error),
                    f"{np.median(error):.1f}",
                    f"{np.percentile(error, 90):.1f}",
                ]
            )
    recovered = [
        abs(factors.estimates[r].value / truth.pace[r] - 1)
        for r in truth.pace
        if r in factors.estimates
    ]
    print(
        f"{len(days)} rep-days a week, {args.weeks} weeks ({args.train_weeks} learned from);"
        f" {len(legs)} drives and {len(stays)} visits recorded"
    )
    visited = {a for day in days for a in day.accounts}
    print(
        f"pace learned for {len(factors.estimates)} of {len(truth.pace)} reps, median error"
        f" {100 * float(np.median(recovered)):.1f} %; visit length for {len(visits.estimates)}"
        f" of {len(visited)} accounts visited ({len(visits.too_few)} with too few visits)"
    )
    print(f"{'times':<10}{'ETA':<11}{'stops':>7}{'median min':>12}{'p90 min':>10}")
    for row in rows:
        print(f"{row[0]:<10}{row[1]:<11}{row[2]:>7}{row[3]:>12}{row[4]:>10}")
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
