"""Seeded generators of accounts and reps around Heidelberg for territory tests, and one
straight-line design per input shared by the tests that start from it."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from routeplanner.model import (
    Account,
    GeoPoint,
    LunchBreak,
    Rep,
    TimeWindow,
    VisitRule,
    WeeklyHours,
)
from routeplanner.territories.design import TerritoryPlan, design_territories
from routeplanner.travel import HaversineTravel
from routeplanner.units import HOUR, MINUTE

BBOX = (49.36, 8.60, 49.50, 9.05)  # lat_min, lon_min, lat_max, lon_max (Heidelberg sample)
RULES = ("weekly", "biweekly", "monthly", "every 8 weeks")
RULE_P = (0.1, 0.3, 0.45, 0.15)


def make_accounts(n: int, seed: int, *, prefix: str = "A") -> list[Account]:
    """``n`` accounts in a few town-like clusters plus scattered ones, seeded."""
    rng = np.random.default_rng(seed)
    lat0, lon0, lat1, lon1 = BBOX
    towns = rng.uniform((lat0, lon0), (lat1, lon1), size=(6, 2))
    out: list[Account] = []
    for i in range(n):
        if rng.random() < 0.7:
            c = towns[rng.integers(len(towns))]
            lat, lon = c + rng.normal(0, (0.01, 0.015))
        else:
            lat, lon = rng.uniform((lat0, lon0), (lat1, lon1))
        out.append(
            Account(
                account_id=f"{prefix}{i:04d}",
                name=f"Account {i}",
                location=GeoPoint(float(np.clip(lat, lat0, lat1)), float(np.clip(lon, lon0, lon1))),
                visit_rule=VisitRule.parse(str(rng.choice(RULES, p=RULE_P))),
                visit_duration_s=int(rng.choice([20, 30, 45, 60])) * MINUTE,
                value_class=str(rng.choice(["A", "B", "C"])),
            )
        )
    return out


def make_reps(k: int, seed: int, accounts: list[Account] | None = None) -> list[Rep]:
    """``k`` reps working Mon-Fri 08:00-17:00 with a 30-minute lunch; homes near accounts."""
    rng = np.random.default_rng(seed + 1000)
    hours = WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR))
    lunch = LunchBreak(window=TimeWindow(12 * HOUR, 14 * HOUR), duration_s=30 * MINUTE)
    reps = []
    spread = _spread_homes(accounts, k, rng) if accounts else []
    for j in range(k):
        if accounts:
            home = spread[j]
        else:
            lat0, lon0, lat1, lon1 = BBOX
            lat, lon = rng.uniform((lat0, lon0), (lat1, lon1))
            home = GeoPoint(float(lat), float(lon))
        reps.append(
            Rep(rep_id=f"R{j}", name=f"Rep {j}", home=home, working_hours=hours, lunch=lunch)
        )
    return reps


def _spread_homes(accounts: list[Account], k: int, rng: np.random.Generator) -> list[GeoPoint]:
    """Homes at k-means++ seeds over the accounts: reps live spread over the region, as hired."""
    pts = np.array([(a.location.lat, a.location.lon) for a in accounts])
    chosen = [int(rng.integers(len(pts)))]
    d2 = ((pts - pts[chosen[0]]) ** 2).sum(axis=1)
    while len(chosen) < k:
        total = d2.sum()
        nxt = int(rng.choice(len(pts), p=d2 / total)) if total > 0 else int(rng.integers(len(pts)))
        chosen.append(nxt)
        d2 = np.minimum(d2, ((pts - pts[nxt]) ** 2).sum(axis=1))
    return [accounts[i].location for i in chosen]


def straight_line_design(
    accounts: Sequence[Account], reps: Sequence[Rep], **options: int
) -> TerritoryPlan:
    """``design_territories`` on straight-line travel, computed once per input and options in a
    test process: the plan is frozen, so tests that only read it (or start a realignment from
    it) share one design. Call it only where no test has patched the design's tuning."""
    return _design(tuple(accounts), tuple(reps), tuple(sorted(options.items())))


@cache
def _design(
    accounts: tuple[Account, ...], reps: tuple[Rep, ...], options: tuple[tuple[str, int], ...]
) -> TerritoryPlan:
    return design_territories(accounts, reps, HaversineTravel(), **dict(options))
