"""Calendar feed generation: one rep with 13 weeks of visits (about 600 events) and a team of 10.

Runs on a real SQLite file through :class:`routeplanner.services.calendar.CalendarFeeds`, as
the web app does. For each feed it measures, in the same run:

- ``first``: the first request after a new plan (reconcile with the plan, store the feed
  state, render): what one subscriber pays once per plan version;
- ``cold``: rendering again with the cache cleared (state already stored);
- ``cached``: a poll of an unchanged feed, served from the cache keyed on the plan version and
  the feed-state versions (two small state queries and a dict lookup);

and prints cold / cached as a ratio (the baseline is rendering without the cache). Target:
the single-rep feed under 200 ms.

Usage: ``python -m benchmarks.calendar_feed [--weeks 13] [--stops 9] [--team 10] [--csv F]``
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from routeplanner.model import (
    Account,
    DayRoute,
    GeoPoint,
    Horizon,
    Plan,
    Rep,
    Stop,
    TimeWindow,
    VisitRule,
    WeeklyHours,
)
from routeplanner.services.calendar import CalendarFeeds
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.units import HOUR, MINUTE

START = date(2027, 3, 1)  # a Monday; the horizon crosses the DST change on 2027-03-28


def build(reps_n: int, weeks: int, stops: int) -> tuple[list[Account], list[Rep], Plan]:
    hours = WeeklyHours.uniform(TimeWindow(8 * HOUR, 18 * HOUR))
    accounts: list[Account] = []
    reps: list[Rep] = []
    routes: list[DayRoute] = []
    for r in range(reps_n):
        rep_id = f"R{r:02d}"
        reps.append(
            Rep(
                rep_id=rep_id, name=f"Rep {r} Müller", home=GeoPoint(49.4, 8.7), working_hours=hours
            )
        )
        per_rep = stops * 5 * 2  # each account visited about every two weeks
        for a in range(per_rep):
            accounts.append(
                Account(
                    account_id=f"{rep_id}-A{a:03d}",
                    name=f"Kunde {a}, Bäckerei & Café; Filiale {r}",
                    address=f"Hauptstraße {a + 1}, 69117 Heidelberg",
                    location=GeoPoint(49.40 + a * 1e-4, 8.69 + r * 1e-3),
                    visit_rule=VisitRule.parse("every 2 weeks"),
                    visit_duration_s=30 * MINUTE,
                    opening_hours=hours,
                    category="bakery",
                    notes="Ansprechpartnerin: Frau Weiß\nNeue Preisliste mitbringen",
                    contact="Frau Weiß",
                    phone="+49 6221 000",
                )
            )
        for day_n in range(weeks * 7):
            day = START + timedelta(days=day_n)
            if day.weekday() >= 5:
                continue
            base = ((day_n // 7) % 2) * stops * 5 + day.weekday() * stops
            route_stops = []
            t = 8 * HOUR + 15 * MINUTE
            for s in range(stops):
                account = f"{rep_id}-A{base + s:03d}"
                route_stops.append(
                    Stop(
                        visit_id=f"{account}@{day.isoformat()}",
                        account_id=account,
                        arrival_s=t,
                        start_s=t,
                        departure_s=t + 30 * MINUTE,
                        travel_s=15 * MINUTE,
                        distance_m=9000,
                    )
                )
                t += 45 * MINUTE
            routes.append(
                DayRoute(
                    rep_id=rep_id,
                    day=day,
                    start_s=8 * HOUR,
                    end_s=t + 15 * MINUTE,
                    stops=tuple(route_stops),
                )
            )
    return accounts, reps, Plan(routes=tuple(routes))


def _ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def measure(label: str, reps_n: int, weeks: int, stops: int, workdir: Path) -> dict[str, object]:
    accounts, reps, plan = build(reps_n, weeks, stops)
    settings = Settings(database_url=f"sqlite:///{workdir / f'{label}.sqlite'}")
    store = Store.open(settings.database_url)
    replace_accounts_and_reps(store, accounts, reps, source="bench")
    plan_id = store.plans.start(Horizon(start=START, weeks=weeks))
    store.plans.complete(plan_id, plan)
    feeds = CalendarFeeds(store, settings, clock=lambda: datetime(2027, 2, 27, tzinfo=UTC))
    rep_ids = [r.rep_id for r in reps]

    def get() -> str:
        return feeds.feed(rep_ids, name="bench", base_url="https://plan.example.com").text

    began = time.perf_counter()
    text = get()
    first_ms = (time.perf_counter() - began) * 1000

    def cold() -> None:
        feeds.clear_cache()
        get()

    cold_ms = _ms(cold, 5)
    cached_ms = _ms(get, 50)
    store.close()
    return {
        "feed": label,
        "reps": reps_n,
        "events": text.count("BEGIN:VEVENT"),
        "bytes": len(text.encode("utf-8")),
        "first_ms": round(first_ms, 1),
        "cold_ms": round(cold_ms, 1),
        "cached_ms": round(cached_ms, 2),
        "cold_over_cached": round(cold_ms / cached_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--weeks", type=int, default=13)
    parser.add_argument("--stops", type=int, default=9, help="visits per rep-day")
    parser.add_argument("--team", type=int, default=10, help="reps in the team feed")
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            measure("rep", 1, args.weeks, args.stops, Path(tmp)),
            measure(f"team{args.team}", args.team, args.weeks, args.stops, Path(tmp)),
        ]
    header = list(rows[0])
    print(" | ".join(header))
    for row in rows:
        print(" | ".join(str(row[h]) for h in header))
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
