"""Assignment benchmark: 10,000 new accounts, 50 territories, 20 rules, on Heidelberg roads.

    python -m benchmarks.assignment --osm PATH --accounts 10000 --reps 50 --seed 1 --csv OUT

Accounts are generated at random points near the roads of the extract (seeded, as in the
territory benchmark) and snapped; categories, tags, value classes, synthetic 5-digit postcodes
(a grid over the region) and, for 5 %, a required "medical" qualification. 50 reps live at the
accounts nearest to k-means centres; 10 carry "medical" and form segment ``medical``, 5 form
segment ``key``. Territories start empty: a region roll-out, so every account is new.

The 20 rules (checked by ``validate_rules`` first): requires medical / pharmacy / doctors ->
segment medical; key-account A-class -> segment key; 6 circular areas (GeoJSON polygons of
1.5 km radius around random accounts) -> one territory each; 10 postcode prefixes -> one
territory each; C-class schools -> one territory.

Ours: ``assign_accounts`` from raw inputs (rule matching, one road matrix, workloads, best
fit). Baseline: nearest rep by road time from home (one homes x accounts matrix, argmin),
blind to rules, qualifications and capacity. Both are scored by the same code: workload =
visits x (visit time + travel estimate) with the same estimate for both (straight-line
nearest-neighbour distance x the median road seconds per metre home -> account), max deviation of
utilisation from the mean, mean road time from the owner's home, qualification violations and
rule-compliant accounts.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.cluster.vq import kmeans2

from routeplanner.assignment import AssignmentRule, assign_accounts, parse_rules, validate_rules
from routeplanner.assignment.estimates import estimate_workloads
from routeplanner.assignment.rules import AccountTable, match_matrix
from routeplanner.model import (
    Account,
    GeoPoint,
    LunchBreak,
    Rep,
    Territory,
    TimeWindow,
    VisitRule,
    WeeklyHours,
)
from routeplanner.roads.graph import load_road_graph
from routeplanner.roads.snap import random_road_points
from routeplanner.settings import Settings
from routeplanner.territories.workload import rep_capacity_s, visits_in
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.road import RoadTravel
from routeplanner.units import HOUR, MINUTE

FREQUENCIES = ("weekly", "every 2 weeks", "every 4 weeks", "every 8 weeks")
FREQUENCY_P = (0.10, 0.30, 0.45, 0.15)
CATEGORIES = ("pharmacy", "doctors", "bakery", "restaurant", "school", "car_repair", "office")
CATEGORY_P = (0.06, 0.06, 0.18, 0.2, 0.1, 0.15, 0.25)
COLUMNS = (
    "method",
    "accounts",
    "territories",
    "rules",
    "seconds",
    "max_workload_dev_pct",
    "mean_home_travel_s",
    "home_travel_per_visit_s",
    "qualification_violations",
    "rule_compliant_pct",
)
HORIZON_DAYS = 28


def postcode(lat: float, lon: float) -> str:
    """Synthetic postcode: 69 + a 3-digit cell of a 10 x 100 grid over the region."""
    row = int(np.clip((lat - 49.33) / 0.02, 0, 9))
    col = int(np.clip((lon - 8.57) / 0.0055, 0, 99))
    return f"69{row}{col:02d}"


def make_accounts(travel: RoadTravel, n: int, seed: int) -> list[Account]:
    rng = np.random.default_rng(seed)
    lat, lon = random_road_points(travel.graph, n, seed=seed)
    snaps = travel.snap(
        [
            (f"N{i:05d}", GeoPoint(float(a), float(b)))
            for i, (a, b) in enumerate(zip(lat, lon, strict=True))
        ]
    )
    out = []
    for s in snaps.snaps:
        if not s.reachable or s.snapped is None:
            continue
        category = str(rng.choice(CATEGORIES, p=CATEGORY_P))
        out.append(
            Account(
                account_id=s.point_id,
                name=s.point_id,
                location=s.snapped,
                visit_rule=VisitRule.parse(str(rng.choice(FREQUENCIES, p=FREQUENCY_P))),
                visit_duration_s=int(rng.choice([20, 30, 45, 60])) * MINUTE,
                value_class=str(rng.choice(["A", "B", "C"])),
                category=category,
                tags=frozenset({"key account"}) if rng.random() < 0.08 else frozenset(),
                postcode=postcode(s.snapped.lat, s.snapped.lon),
                required_qualifications=frozenset({"medical"})
                if rng.random() < 0.05
                else frozenset(),
            )
        )
    return out


def make_reps(accounts: list[Account], k: int, seed: int) -> list[Rep]:
    pts = _xy(accounts)
    centres, _ = kmeans2(pts, k, minit="++", seed=seed + 7)
    chosen = [int(np.argmin(((pts - c) ** 2).sum(axis=1))) for c in centres]
    hours = WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR))
    lunch = LunchBreak(window=TimeWindow(12 * HOUR, 14 * HOUR), duration_s=30 * MINUTE)
    return [
        Rep(
            rep_id=f"R{j:02d}",
            name=f"Rep {j}",
            home=accounts[i].location,
            working_hours=hours,
            lunch=lunch,
            qualifications=frozenset({"medical"}) if j % 6 == 0 else frozenset(),
        )
        for j, i in enumerate(chosen)
    ]


def _xy(accounts: list[Account]) -> np.ndarray:
    lat = np.array([a.location.lat for a in accounts])
    lon = np.array([a.location.lon for a in accounts])
    return np.column_stack([lat, lon * np.cos(np.radians(lat.mean()))])


def make_territories(reps: list[Rep], *, segments: bool = True) -> list[Territory]:
    def segment(j: int) -> str:
        if j % 6 == 0:
            return "medical"
        if j == 1:
            return "key"
        return ""

    return [
        Territory(
            territory_id=f"T-{r.rep_id}",
            name=r.name,
            rep_id=r.rep_id,
            segment=segment(j) if segments else "",
        )
        for j, r in enumerate(reps)
    ]


def circle(lat: float, lon: float, radius_m: float) -> dict[str, Any]:
    angles = np.linspace(0, 2 * np.pi, 33)
    dlat = radius_m / 111_320.0
    dlon = dlat / np.cos(np.radians(lat))
    ring = [[float(lon + dlon * np.cos(t)), float(lat + dlat * np.sin(t))] for t in angles]
    ring[-1] = ring[0]
    return {"type": "Polygon", "coordinates": [ring]}


def make_rules(
    accounts: list[Account], territories: list[Territory], seed: int
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed + 11)
    plain = [t.territory_id for t in territories if not t.segment]
    picks = iter(rng.permutation(plain).tolist())
    rules: list[dict[str, Any]] = [
        {
            "id": "requires-medical",
            "criteria": [{"field": "requires", "values": "medical"}],
            "segment": "medical",
        },
        {
            "id": "pharmacy",
            "criteria": [{"field": "category", "values": "pharmacy"}],
            "segment": "medical",
        },
        {
            "id": "doctors",
            "criteria": [{"field": "category", "values": "doctors"}],
            "segment": "medical",
        },
        {
            "id": "key-a",
            "criteria": [
                {"field": "tag", "values": "key account"},
                {"field": "value_class", "values": "A"},
            ],
            "segment": "key",
        },
    ]
    centres = rng.choice(len(accounts), size=6, replace=False)
    for k, i in enumerate(centres):
        at = accounts[int(i)].location
        rules.append(
            {
                "id": f"area-{k}",
                "criteria": [
                    {
                        "field": "area",
                        "values": [f"zone-{k}"],
                        "geojson": [circle(at.lat, at.lon, 800.0)],
                    }
                ],
                "territory": next(picks),
            }
        )
    codes = sorted({a.postcode for a in accounts})
    for code in rng.choice(codes, size=9, replace=False):
        rules.append(
            {
                "id": f"pc-{code}",
                "criteria": [{"field": "postcode", "values": str(code)}],
                "territory": next(picks),
            }
        )
    rules.append(
        {
            "id": "schools-c",
            "criteria": [
                {"field": "category", "values": "school"},
                {"field": "value_class", "values": "C"},
            ],
            "territory": next(picks),
        }
    )
    return rules


def seconds_per_metre(home_s: np.ndarray, reps: list[Rep], accounts: list[Account]) -> float:
    """Median road seconds per straight-line metre, home to account (as the assignment
    calibrates its travel estimate): the scoring workload is the same for every method."""
    straight = (
        HaversineTravel(speed_kmh=3.6, detour_factor=1.0)
        .matrix([r.home for r in reps], [a.location for a in accounts])
        .distances_m
    )
    use = straight > 300
    return float(np.median(home_s[use] / straight[use]))


def lp_bound(
    home_s: np.ndarray, accounts: list[Account], reps: list[Rep], *, tolerance: float
) -> float:
    """Least road time from home per visit of any fractional split with every territory's
    workload within +-tolerance of its share: no balanced assignment can do better."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix, vstack

    n, m = len(accounts), len(reps)
    w = estimate_workloads(accounts, seconds_per_metre(home_s, reps, accounts), HORIZON_DAYS)
    cap = np.array([rep_capacity_s(r, HORIZON_DAYS) for r in reps], dtype=float)
    share = cap * w.sum() / cap.sum()
    cols = np.arange(n * m)  # variable i * m + j
    a_eq = coo_matrix((np.ones(n * m), (np.repeat(np.arange(n), m), cols)), shape=(n, n * m))
    a_ub = coo_matrix((np.repeat(w, m), (np.tile(np.arange(m), n), cols)), shape=(m, n * m))
    visits = np.array([visits_in(a, HORIZON_DAYS) for a in accounts])
    result = linprog(
        (home_s.T * visits[:, None]).ravel().astype(float),
        A_ub=vstack([a_ub, -a_ub]),
        b_ub=np.concatenate([share * (1 + tolerance), -share * (1 - tolerance)]),
        A_eq=a_eq,
        b_eq=np.ones(n),
        bounds=(0, 1),
        method="highs",
    )
    return float(result.fun / visits.sum())


def score(
    method: str,
    owner: np.ndarray,
    accounts: list[Account],
    reps: list[Rep],
    territories: list[Territory],
    rules: list[AssignmentRule],
    home_s: np.ndarray,
    seconds: float,
) -> dict[str, Any]:
    """Same scoring for both: balance, compactness, qualification and rule compliance."""
    m = len(territories)
    visits = np.array([visits_in(a, HORIZON_DAYS) for a in accounts])
    workload = estimate_workloads(accounts, seconds_per_metre(home_s, reps, accounts), HORIZON_DAYS)
    capacity = np.array([rep_capacity_s(r, HORIZON_DAYS) for r in reps], dtype=float)
    load = np.bincount(owner, weights=workload, minlength=m)
    util = load / capacity
    dev = 100.0 * np.abs(util / (load.sum() / capacity.sum()) - 1.0)
    quals = [r.qualifications for r in reps]
    violations = sum(
        1 for a, j in zip(accounts, owner, strict=True) if not a.required_qualifications <= quals[j]
    )
    # Rule compliance: the account sits where its first matching rule wants it.
    hits = match_matrix(rules, AccountTable.of(accounts))
    index = {t.territory_id: j for j, t in enumerate(territories)}
    ok = total = 0
    for i, row in enumerate(hits):
        first = np.nonzero(row)[0]
        if not len(first):
            continue
        rule = rules[int(first[0])]
        if accounts[i].required_qualifications and rule.territory_id is not None:
            continue  # may legitimately fall through
        total += 1
        t = territories[int(owner[i])]
        ok += (rule.territory_id is not None and index[rule.territory_id] == owner[i]) or (
            rule.segment is not None and t.segment == rule.segment
        )
    return {
        "method": method,
        "accounts": len(accounts),
        "territories": m,
        "rules": len(rules),
        "seconds": round(seconds, 3),
        "max_workload_dev_pct": round(float(dev.max()), 2),
        "mean_home_travel_s": round(float(home_s[owner, np.arange(len(accounts))].mean()), 1),
        "home_travel_per_visit_s": round(
            float((visits * home_s[owner, np.arange(len(accounts))]).sum() / visits.sum()), 1
        ),
        "qualification_violations": violations,
        "rule_compliant_pct": round(100.0 * ok / total, 1) if total else 100.0,
    }


def import_batch(graph: Any, accounts: list[Account], reps: list[Rep], batch: int) -> int:
    """Existing territories from a first assignment, then a batch of new accounts into them."""
    from dataclasses import replace

    territories = make_territories(reps, segments=False)
    existing, new = accounts[:-batch], accounts[-batch:]
    first = assign_accounts(existing, reps, territories, [], RoadTravel(graph))
    members: dict[str, list[str]] = {t.territory_id: [] for t in territories}
    for d in first.decisions:
        members[d.territory_id or ""].append(d.account_id)
    territories = [replace(t, account_ids=tuple(members[t.territory_id])) for t in territories]
    t0 = time.perf_counter()
    report = assign_accounts(accounts, reps, territories, [], RoadTravel(graph))
    seconds = time.perf_counter() - t0
    moved = sum(1 for d in report.decisions if d.account_id not in {a.account_id for a in new})
    print(
        f"import of {batch} new accounts into {len(territories)} territories holding "
        f"{len(existing)}: {seconds:.2f} s; existing accounts moved: {moved}; max deviation "
        f"before {first.max_deviation_pct:.1f} %, after {report.max_deviation_pct:.1f} %; "
        f"suggest realignment: {report.suggest_realignment}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--osm", type=Path, default=Settings().osm_path)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--csv", type=Path)
    parser.add_argument(
        "--import-batch",
        type=int,
        default=0,
        help="Instead: place all but this many accounts first (no rules), then time importing "
        "the batch into those territories (the realistic import case).",
    )
    parser.add_argument(
        "--bound",
        action="store_true",
        help="Also solve the full LP relaxation (no rules, every share within +-5 %%) as a "
        "lower bound on mean travel from home (about 10 s).",
    )
    args = parser.parse_args(argv)

    graph = load_road_graph(args.osm, cache_dir=Settings().cache_dir)
    travel = RoadTravel(graph)
    accounts = make_accounts(travel, args.accounts, args.seed)
    reps = make_reps(accounts, args.reps, args.seed)
    if args.import_batch:
        return import_batch(graph, accounts, reps, args.import_batch)
    territories = make_territories(reps)
    rules = list(parse_rules(make_rules(accounts, territories, args.seed), source="benchmark"))
    t0 = time.perf_counter()
    validate_rules(rules, territories, reps, source="benchmark")
    validate_s = time.perf_counter() - t0
    print(
        f"{len(accounts)} accounts, {len(territories)} territories, {len(rules)} rules "
        f"(validate_rules {validate_s:.3f} s); {travel.graph.nodes} road nodes"
    )

    # Fresh provider for each method so neither profits from the other's warm caches.
    t0 = time.perf_counter()
    report = assign_accounts(accounts, reps, territories, rules, RoadTravel(graph))
    ours_s = time.perf_counter() - t0
    index = {t.territory_id: j for j, t in enumerate(territories)}
    ours = np.array([index[d.territory_id or ""] for d in report.decisions])

    t0 = time.perf_counter()
    base_travel = RoadTravel(graph)
    home_s = base_travel.matrix([r.home for r in reps], [a.location for a in accounts]).durations_s
    nearest = np.argmin(home_s, axis=0)
    base_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    unsegmented = make_territories(reps, segments=False)
    plain = assign_accounts(accounts, reps, unsegmented, [], RoadTravel(graph))
    plain_s = time.perf_counter() - t0
    plain_owner = np.array([index[d.territory_id or ""] for d in plain.decisions])

    rows = [
        score("routeplanner (20 rules)", ours, accounts, reps, territories, rules, home_s, ours_s),
        score(
            "routeplanner (no rules)",
            plain_owner,
            accounts,
            reps,
            territories,
            rules,
            home_s,
            plain_s,
        ),
        score("nearest rep", nearest, accounts, reps, territories, rules, home_s, base_s),
    ]
    print(
        f"{'method':<26}{'seconds':>9}{'max dev %':>11}{'home s':>9}{'per visit':>10}"
        f"{'qual viol':>11}{'rules ok %':>12}"
    )
    for r in rows:
        print(
            f"{r['method']:<26}{r['seconds']:>9.2f}{r['max_workload_dev_pct']:>11.1f}"
            f"{r['mean_home_travel_s']:>9.0f}{r['home_travel_per_visit_s']:>10.0f}{r['qualification_violations']:>11}{r['rule_compliant_pct']:>12.1f}"
        )
    print(
        f"time ratio ours/nearest {ours_s / base_s:.1f}x; max deviation ours "
        f"{rows[0]['max_workload_dev_pct']:.1f} % vs nearest "
        f"{rows[2]['max_workload_dev_pct']:.1f} %; "
        f"report.max_deviation_pct {report.max_deviation_pct:.1f} %; "
        f"suggest realignment: {report.suggest_realignment}"
    )
    if args.bound:
        bound = lp_bound(home_s, accounts, reps, tolerance=0.05)
        print(
            f"LP lower bound, no rules, shares within +-5 %: home travel per visit {bound:.0f} s;"
            f" ours (no rules) / bound = {rows[1]['home_travel_per_visit_s'] / bound:.2f}"
        )
    targets = {r.territory_id for r in rules if r.territory_id} | {
        t.territory_id for t in territories if t.segment
    }
    free_dev = max(abs(b.deviation_pct) for b in report.balance if b.territory_id not in targets)
    print(
        f"with rules, territories no rule targets (best fit only): max deviation {free_dev:.1f} %"
        f" (own estimate); no rules: report.max_deviation_pct {plain.max_deviation_pct:.1f} %"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    counts = {k.value: v for k, v in report.counts().items()}
    print("decisions:", json.dumps(counts))
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
