"""Synthetic territories for scheduling tests: reproducible per seed, realistic mixes."""

from __future__ import annotations

import random
from datetime import date, timedelta

from routeplanner.model import (
    Account,
    GeoPoint,
    LunchBreak,
    Rep,
    TimeWindow,
    VisitRule,
    WeeklyHours,
)
from routeplanner.units import HOUR, MINUTE

HOME = GeoPoint(49.41, 8.69)
START = date(2026, 3, 2)  # a Monday


def make_rep(rep_id: str = "r1", **overrides: object) -> Rep:
    base: dict[str, object] = {
        "rep_id": rep_id,
        "name": f"Rep {rep_id}",
        "home": HOME,
        "working_hours": WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR)),
        "lunch": LunchBreak(window=TimeWindow(12 * HOUR, 14 * HOUR), duration_s=30 * MINUTE),
        "max_visits_per_day": 12,
    }
    base.update(overrides)
    return Rep(**base)  # type: ignore[arg-type]


def make_accounts(seed: int, n: int, *, spread_deg: float = 0.15) -> list[Account]:
    """``n`` accounts around HOME with weekly/biweekly/monthly rules and mixed opening hours."""
    rng = random.Random(seed)
    rules = ["weekly", "biweekly", "biweekly", "monthly", "monthly", "2 per week"]
    out = []
    for i in range(n):
        rule = rng.choice(rules)
        hours = WeeklyHours.uniform(TimeWindow(8 * HOUR, 18 * HOUR))
        r = rng.random()
        if r < 0.15:  # closed on Wednesdays
            hours = WeeklyHours.uniform(TimeWindow(9 * HOUR, 17 * HOUR), weekdays=(0, 1, 3, 4))
        elif r < 0.25:  # mornings only
            hours = WeeklyHours.uniform(TimeWindow(8 * HOUR, 12 * HOUR))
        last = START - timedelta(days=rng.randint(1, 30)) if rng.random() < 0.7 else None
        out.append(
            Account(
                account_id=f"a{i:03d}",
                name=f"Account {i}",
                location=GeoPoint(
                    HOME.lat + rng.uniform(-spread_deg, spread_deg),
                    HOME.lon + rng.uniform(-spread_deg, spread_deg) * 1.5,
                ),
                visit_rule=VisitRule.parse(rule),
                visit_duration_s=rng.choice([15, 20, 30]) * MINUTE,
                opening_hours=hours,
                last_visit=last,
            )
        )
    return out
