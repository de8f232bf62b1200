"""Territory design benchmark: routeplanner vs plain k-means on coordinates, on any OSM extract.

    python -m benchmarks.territories --osm PATH --accounts N --reps K --seed S --csv OUT

Accounts are generated at random points near the roads of the extract (seeded) and snapped to
the network; reps live at the accounts nearest to the centres of a k-means run with another
seed (a company hires reps where its customers are). Frequencies: weekly 10 %, every 2 weeks
30 %, every 4 weeks 45 %, every 8 weeks 15 %; visits of 20/30/45/60 min. Reps work Mon-Fri
08:00-17:00 with a 30-minute lunch.

Both methods are scored by the same code (``assignment_kpis`` on road times). The k-means
baseline clusters (lat, lon x cos lat) with ``scipy.cluster.vq.kmeans2`` (k-means++, seeded)
and gives each cluster to a rep by a minimum-cost matching of home to cluster centre. Its time
excludes the road matrix (it needs none); ours includes everything from raw inputs.

Printed besides the CSV, in the same run: the design with the other objective (territory
centre), the nearest-home split (every account to the closest home, balance ignored) and the
LP lower bound for any split within +/-5 % (``balanced_home_bound``), each method's ratio to
both and its gap to the bound; then a realignment after adding 10 % new accounts, preceded by
the enclave accounts of the design as it stands with the new accounts unplaced (how much adding
accounts alone cuts territories apart: the stability of the contiguity definition).

``--knn-only`` measures contiguity on the 8 nearest accounts alone, without road cells (the
definition before road cells; see ``routeplanner.territories.contiguity``).

At organisation scale (4,000 accounts and 20 reps or more, e.g. ``--accounts 20000 --reps
200``) the design goes through regions (``routeplanner.territories.organisation``), which never
compute all pairs of road times, so neither does the benchmark: the KPIs come from the
design's own context (travel from home = the drive from home), the bound from the Lagrangian
dual of the same LP (any multipliers give a valid lower bound; the best found is printed), and
the centre objective is left out. ``--time-limit`` bounds the design. With ``--realign`` the
designed organisation is then perturbed (5 % new accounts, the last rep gone) and realigned
through regions of whole territories (``routeplanner.territories.org_realign``) within
``--realign-time-limit``: time, moves, workload spread and enclaves per option.

``--constraints`` (organisation scale) adds what a real sales force has: every tenth rep holds
the qualification "key", which 5 % of the accounts (seeded) require, and rep R01's territory
is locked as a manager drew it (the accounts nearest its home, three quarters of an average
territory's count, so within its capacity; none requiring "key"). It prints whether the
locked territory came back unchanged and how many "key" accounts went to a rep without it
(both must hold), then the design's figures: among them the enclave accounts the "key"
accounts do not cause (``open_enclave_accounts``: counted on road neighbours bridged across
them, ``routeplanner.territories.bridging``, and without them);
k-means and the bound ignore both constraints, so they are left out.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.cluster.vq import kmeans2
from scipy.optimize import linear_sum_assignment

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
from routeplanner.territories.contiguity import count_violations, neighbour_graph
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.design import (
    DESIGN_TIME_LIMIT_S,
    DesignWeights,
    build_territories,
    design_territories,
)
from routeplanner.territories.metrics import PlanKpis, assignment_kpis, assignment_of
from routeplanner.territories.organisation import design_organisation
from routeplanner.territories.realign import realign_territories
from routeplanner.territories.regions import RegionSettings
from routeplanner.territories.workload import TerritoryContext, build_context
from routeplanner.travel.provider import SnapReport, TravelMatrix
from routeplanner.travel.road import RoadTravel
from routeplanner.units import HOUR, MINUTE

COLUMNS = (
    "method",
    "accounts",
    "reps",
    "max_workload_dev_pct",
    "mean_travel_to_home_s",
    "contiguity_violations",
    "seconds",
)
RULES = ("weekly", "every 2 weeks", "every 4 weeks", "every 8 weeks")
RULE_P = (0.10, 0.30, 0.45, 0.15)


class KnnOnly:
    """The road provider without its road cells: contiguity on the 8 nearest accounts alone."""

    def __init__(self, road: RoadTravel) -> None:
        self.road = road
        self.name = road.name
        self.graph = road.graph

    def snap(self, points: Sequence[tuple[str, GeoPoint]]) -> SnapReport:
        return self.road.snap(points)

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint] | None = None
    ) -> TravelMatrix:
        return self.road.matrix(origins, destinations)

    def leg_geometry(self, origin: GeoPoint, destination: GeoPoint) -> list[GeoPoint]:
        return self.road.leg_geometry(origin, destination)


def make_accounts(travel: RoadTravel | KnnOnly, n: int, seed: int, prefix: str) -> list[Account]:
    rng = np.random.default_rng(seed)
    lat, lon = random_road_points(travel.graph, n, seed=seed)
    report = travel.snap(
        [
            (f"{prefix}{i:05d}", GeoPoint(float(a), float(b)))
            for i, (a, b) in enumerate(zip(lat, lon, strict=True))
        ]
    )
    out = []
    for s in report.snaps:
        if not s.reachable or s.snapped is None:
            continue
        out.append(
            Account(
                account_id=s.point_id,
                name=s.point_id,
                location=s.snapped,
                visit_rule=VisitRule.parse(str(rng.choice(RULES, p=RULE_P))),
                visit_duration_s=int(rng.choice([20, 30, 45, 60])) * MINUTE,
                value_class=str(rng.choice(["A", "B", "C"])),
            )
        )
    return out


def make_reps(accounts: list[Account], k: int, seed: int) -> list[Rep]:
    """Reps live where the customers are: at the accounts nearest to k-means centres.

    The centres come from a k-means run with another seed than the baseline's, so the
    baseline is not handed its own centres as homes.
    """
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
        )
        for j, i in enumerate(chosen)
    ]


def _xy(accounts: list[Account]) -> np.ndarray:
    lat = np.array([a.location.lat for a in accounts])
    lon = np.array([a.location.lon for a in accounts])
    return np.column_stack([lat, lon * np.cos(np.radians(lat.mean()))])


def kmeans_assign(ctx: TerritoryContext, seed: int) -> np.ndarray:
    """Plain k-means on coordinates, clusters matched to reps by home-centre distance."""
    pts = _xy(list(ctx.accounts))
    k = ctx.n_reps
    centres, labels = kmeans2(pts, k, minit="++", seed=seed)
    homes = _xy(
        [
            Account(
                account_id="h",
                name="h",
                location=r.home,
                visit_rule=VisitRule.parse("weekly"),
                visit_duration_s=60,
            )
            for r in ctx.reps
        ]
    )
    cost = ((homes[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    rep_of_cluster = np.empty(k, dtype=np.int64)
    rows, cols = linear_sum_assignment(cost)
    rep_of_cluster[cols] = rows
    return rep_of_cluster[labels].astype(np.int64)


def balanced_home_bound(ctx: TerritoryContext, tolerance: float) -> float:
    """Lower bound on the mean travel to home of ANY split within +/-``tolerance`` workload.

    The LP relaxation of "each account to one rep, every rep's workload within its band,
    minimise total road time to home" (no contiguity, no centres): every balanced integer split
    is feasible for it, so its optimum (HiGHS, exact) bounds them all from below.
    """
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix, vstack

    n, m = ctx.n_accounts, ctx.n_reps
    w = ctx.workload_s / ctx.workload_s.sum()
    target = ctx.capacity_s / ctx.capacity_s.sum()
    cols = np.arange(n * m)
    one = coo_matrix((np.ones(n * m), (cols // m, cols)), shape=(n, n * m))
    load = coo_matrix((w[cols // m], (cols % m, cols)), shape=(m, n * m))
    a_ub = vstack([load, -load]).tocsr()
    b_ub = np.concatenate([target * (1 + tolerance), -target * (1 - tolerance)])
    res = linprog(
        ctx.home_s.T.ravel(),
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=one.tocsr(),
        b_eq=np.ones(n),
        bounds=(0, 1),
        method="highs",
    )
    if res.status != 0:
        msg = f"bound LP failed: {res.message}"
        raise RuntimeError(msg)
    return float(res.fun) / n


LAGRANGE_ITERATIONS = 400


def lagrangian_home_bound(ctx: TerritoryContext, tolerance: float) -> float:
    """A lower bound on the mean travel to home of any split within +/-``tolerance``, for
    instances whose LP is too large to solve: the Lagrangian dual of the balance rows.

    For any price ``lam[j]`` per unit of load, ``sum_i min_j (c_ij + lam_j w_i)`` minus the
    band's worth of the prices is at most the LP optimum, so every iterate of the subgradient
    ascent is a valid bound; the best is returned (it approaches the LP bound from below).
    """
    cost = ctx.home_s.T  # (n, m)
    w = ctx.workload_s / ctx.workload_s.sum()
    target = ctx.capacity_s / ctx.capacity_s.sum()
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    lam = np.zeros(ctx.n_reps)
    best = -np.inf
    scale = float(np.mean(cost)) / float(np.mean(target))
    for k in range(LAGRANGE_ITERATIONS):
        priced = cost + w[:, None] * lam[None, :]
        pick = np.argmin(priced, axis=1)
        load = np.bincount(pick, weights=w, minlength=ctx.n_reps)
        edge = np.where(lam > 0, hi, lo)
        value = float(priced[np.arange(len(pick)), pick].sum() - (lam * edge).sum())
        best = max(best, value)
        grad = np.where(lam > 0, load - hi, np.where(lam < 0, load - lo, 0.0))
        grad = np.where(lam == 0, np.maximum(load - hi, 0.0) + np.minimum(load - lo, 0.0), grad)
        lam = lam + scale * 0.5 / (1.0 + k / 20.0) * grad
    return best / ctx.n_accounts


def run_large(
    args: argparse.Namespace, travel: RoadTravel | KnnOnly, accounts: list[Account], reps: list[Rep]
) -> int:
    """The organisation-scale case: design, k-means, nearest-home split and the dual bound."""
    t = time.perf_counter()
    limit = args.time_limit if args.time_limit is not None else DESIGN_TIME_LIMIT_S
    found = design_organisation(
        accounts,
        reps,
        travel,
        deadline=Deadline.after(limit),
        progress=lambda stage, frac: print(
            f"  {time.perf_counter() - t:7.1f} s  {100 * frac:3.0f} %  {stage}", flush=True
        ),
    )
    ours_s = time.perf_counter() - t
    ctx, graph = found.context, found.graph
    t = time.perf_counter()
    km = kmeans_assign(ctx, args.seed)
    km_s = time.perf_counter() - t
    base = assignment_kpis(ctx, km, graph=graph)
    near = assignment_kpis(ctx, np.argmin(ctx.home_s, axis=0).astype(np.int64), graph=graph)
    t = time.perf_counter()
    bound = lagrangian_home_bound(ctx, 0.05)
    print(f"Lagrangian bound: {time.perf_counter() - t:.1f} s")
    rows = [
        _row("routeplanner", found.kpis, len(reps), ours_s),
        _row("kmeans", base, len(reps), km_s),
    ]
    _write(args.csv, rows)
    print(f"{found.regions.count} regions; notes: {'; '.join(found.notes) or '-'}")
    print(
        f"{'method':>28} {'max dev %':>9} {'home s':>7} {'x near':>7} {'x bound':>8} "
        f"{'enclaves':>8}"
    )
    for name, k in (("routeplanner", found.kpis), ("kmeans", base), ("nearest-home split", near)):
        print(
            f"{name:>28} {k.max_workload_dev_pct:9.2f} {k.mean_travel_to_home_s:7.1f} "
            f"{k.mean_travel_to_home_s / near.mean_travel_to_home_s:7.3f} "
            f"{k.mean_travel_to_home_s / bound:8.3f} {k.contiguity_violations:8d}"
        )
    print(f"{'Lagrangian bound (LP dual)':>28} {'5.00':>9} {bound:7.1f}")
    print("centre objective: not run at organisation scale")
    if args.realign:
        current = build_territories(found.context, found.assign)
        realign_large(args, travel, accounts, reps, current)
    return 0


KEY = frozenset({"key"})
KEY_SHARE = 0.05
KEY_REPS_EVERY = 10


def constrained(
    accounts: list[Account], reps: list[Rep], seed: int
) -> tuple[list[Account], list[Rep], Territory]:
    """The ``--constraints`` input: "key" required by 5 % of accounts and held by every tenth
    rep, and R01's territory locked (the accounts nearest its home, none requiring "key")."""
    rng = np.random.default_rng(seed + 11)
    needs = rng.random(len(accounts)) < KEY_SHARE
    accounts = [
        replace(a, required_qualifications=KEY) if need else a
        for a, need in zip(accounts, needs, strict=True)
    ]
    reps = [
        replace(r, qualifications=KEY) if j % KEY_REPS_EVERY == 0 else r for j, r in enumerate(reps)
    ]
    home = reps[1].home
    gap = np.hypot(*(_xy(accounts) - _xy_of(home.lat, home.lon, accounts)).T)
    open_accounts = [i for i in np.argsort(gap) if not needs[i]]
    size = 3 * len(accounts) // (4 * len(reps))
    locked = Territory(
        territory_id="T-locked",
        name=reps[1].name or reps[1].rep_id,
        rep_id=reps[1].rep_id,
        account_ids=tuple(accounts[int(i)].account_id for i in sorted(open_accounts[:size])),
        locked=True,
    )
    return accounts, reps, locked


def _xy_of(lat: float, lon: float, accounts: list[Account]) -> np.ndarray:
    """A point in the plane of :func:`_xy` (scaled by the accounts' mean latitude)."""
    mean_lat = np.mean([a.location.lat for a in accounts])
    return np.array([lat, lon * np.cos(np.radians(mean_lat))])


def run_constrained(
    args: argparse.Namespace,
    travel: RoadTravel | KnnOnly,
    accounts: list[Account],
    reps: list[Rep],
    locked: Territory,
) -> int:
    """The organisation-scale design with a locked territory and a qualification."""
    needing = sum(1 for a in accounts if a.required_qualifications)
    holding = sum(1 for r in reps if r.qualifications)
    print(f"constraints: {needing} accounts need 'key', {holding} reps hold it; ", end="")
    print(f"{locked.rep_id}'s territory of {len(locked.account_ids)} accounts locked")
    t = time.perf_counter()
    limit = args.time_limit if args.time_limit is not None else DESIGN_TIME_LIMIT_S
    plan = design_territories(
        accounts, reps, travel, locked_territories=[locked], time_limit_s=limit,
        progress=lambda stage, frac: print(
            f"  {time.perf_counter() - t:7.1f} s  {100 * frac:3.0f} %  {stage}", flush=True
        ),
    )  # fmt: skip
    ours_s = time.perf_counter() - t
    owner = {a: tt.rep_id for tt in plan.territories for a in tt.account_ids}
    by_rep = {r.rep_id: r for r in reps}
    unqualified = sum(
        1
        for a in accounts
        if not a.required_qualifications <= by_rep[owner[a.account_id]].qualifications
    )
    kept = next(tt for tt in plan.territories if tt.rep_id == locked.rep_id)
    _write(args.csv, [_row("routeplanner", plan.kpis, len(reps), ours_s)])
    print(f"notes: {'; '.join(plan.notes) or '-'}")
    print(f"locked territory unchanged: {kept.account_ids == locked.account_ids}")
    print(f"'key' accounts with a rep without 'key': {unqualified}")
    k = plan.kpis
    # "key" accounts lie all over the map and only a few reps may take them: those reps'
    # territories cannot be one piece, so their enclaves are counted apart.
    key_reps = {r.rep_id for r in reps if r.qualifications}
    key_enclaves = sum(tt.enclave_accounts for tt in k.territories if tt.rep_id in key_reps)
    print(
        f"design {ours_s:.1f} s, max dev {k.max_workload_dev_pct:.2f} % (unlocked territories), "
        f"enclaves {k.contiguity_violations} ({key_enclaves} in the territories of reps with "
        f"'key'; {k.open_enclave_accounts} not caused by 'key' accounts), "
        f"travel from home {k.mean_travel_to_home_s:.1f} s"
    )
    return 0 if kept.account_ids == locked.account_ids and unqualified == 0 else 1


def realign_large(
    args: argparse.Namespace,
    travel: RoadTravel | KnnOnly,
    accounts: list[Account],
    reps: list[Rep],
    current: Sequence[Territory],
) -> None:
    """The designed organisation after 5 % new accounts and one rep gone, realigned through
    regions: one line per option."""
    new = make_accounts(travel, max(1, len(accounts) // 20), args.seed + 1, "N")
    staying = reps[:-1]
    print(f"realignment: +{len(new)} new accounts, rep {reps[-1].rep_id} gone")
    t = time.perf_counter()
    options = realign_territories(
        current,
        accounts + new,
        staying,
        travel,
        time_limit_s=args.realign_time_limit,
        progress=lambda stage, frac: print(
            f"  {time.perf_counter() - t:7.1f} s  {100 * frac:3.0f} %  {stage}", flush=True
        ),
    )
    seconds = time.perf_counter() - t
    print(f"realigned in {seconds:.1f} s (limit {args.realign_time_limit:.0f} s)")
    print(f"notes: {'; '.join(options[0].notes) if options else '-'}")
    before = options[0].comparison.before if options else None
    if before is not None:
        print(
            f"  {'before (new accounts unplaced)':>40}: max dev "
            f"{before.max_workload_dev_pct:6.2f} %, enclaves {before.contiguity_violations}"
        )
    for o in options:
        forced = len(o.comparison.moves) - o.moved_accounts
        spread = [t.balance_dev_pct for t in o.kpis.territories if not t.locked]
        print(
            f"  {o.label:>40}: moved {o.moved_accounts:5d} (+{forced} placed), max dev "
            f"{o.kpis.max_workload_dev_pct:6.2f} %, "
            f"spread {min(spread):+.1f}..{max(spread):+.1f} %, "
            f"travel to home {o.kpis.mean_travel_to_home_s:6.1f} s, "
            f"enclaves {o.kpis.contiguity_violations}"
        )


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(",".join(COLUMNS))
    for r in rows:
        print(",".join(str(r[c]) for c in COLUMNS))


def _row(method: str, kpis: PlanKpis, reps: int, seconds: float) -> dict[str, object]:
    return {
        "method": method,
        "accounts": kpis.accounts,
        "reps": reps,
        "max_workload_dev_pct": f"{kpis.max_workload_dev_pct:.2f}",
        "mean_travel_to_home_s": f"{kpis.mean_travel_to_home_s:.1f}",
        "contiguity_violations": kpis.contiguity_violations,
        "seconds": f"{seconds:.2f}",
    }


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, required=True)
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--reps", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument(
        "--knn-only", action="store_true", help="contiguity on the 8 nearest alone, no road cells"
    )
    parser.add_argument(
        "--time-limit", type=float, default=None, help="limit of the design in seconds"
    )
    parser.add_argument(
        "--realign",
        action="store_true",
        help="at organisation scale: realign the design after 5 %% new accounts, one rep gone",
    )
    parser.add_argument(
        "--realign-time-limit", type=float, default=600.0, help="limit of that realignment"
    )
    parser.add_argument(
        "--constraints",
        action="store_true",
        help="at organisation scale: a locked territory and a qualification 5 %% of accounts need",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)

    t0 = time.perf_counter()
    graph = load_road_graph(args.osm, cache_dir=Settings().cache_dir)
    road = RoadTravel(graph)
    travel: RoadTravel | KnnOnly = KnnOnly(road) if args.knn_only else road
    accounts = make_accounts(travel, args.accounts, args.seed, "A")
    reps = make_reps(accounts, args.reps, args.seed)
    print(
        f"{args.osm.name}: {graph.nodes} nodes, {len(accounts)} accounts, {len(reps)} reps "
        f"(setup {time.perf_counter() - t0:.1f} s)"
    )
    if RegionSettings().applies(len(accounts), len(reps)):
        if args.constraints:
            return run_constrained(args, travel, *constrained(accounts, reps, args.seed))
        return run_large(args, travel, accounts, reps)

    t = time.perf_counter()
    ctx = build_context(accounts, reps, travel)
    matrix_s = time.perf_counter() - t

    t = time.perf_counter()
    limit = {} if args.time_limit is None else {"time_limit_s": args.time_limit}
    plan = design_territories(accounts, reps, travel, **limit)
    ours_s = time.perf_counter() - t
    ours = plan.kpis

    t = time.perf_counter()
    km = kmeans_assign(ctx, args.seed)
    km_s = time.perf_counter() - t
    base = assignment_kpis(ctx, km)

    rows = [_row("routeplanner", ours, len(reps), ours_s), _row("kmeans", base, len(reps), km_s)]
    _write(args.csv, rows)
    print(f"road matrix for KPIs: {matrix_s:.2f} s (included in routeplanner's seconds)")

    # The other design objective (territory centre), same inputs, for the comparison.
    t = time.perf_counter()
    centre = design_territories(
        accounts, reps, travel, weights=DesignWeights(objective="centre")
    ).kpis
    centre_s = time.perf_counter() - t
    bound = balanced_home_bound(ctx, 0.05)
    near = assignment_kpis(ctx, np.argmin(ctx.home_s, axis=0).astype(np.int64))
    print(
        f"LP lower bound for any split within +/-5 % (no contiguity): mean travel to home "
        f"{bound:.1f} s = {bound / near.mean_travel_to_home_s:.3f} x the nearest-home split"
    )
    header = (
        f"{'method':>28} {'max dev %':>9} {'home s':>7} {'x near':>7} {'x bound':>8} "
        f"{'gap %':>6} {'enclaves':>8} {'centre s':>8} {'seconds':>8}"
    )
    print(header)
    table = (
        ("routeplanner (home, default)", ours, ours_s),
        ("routeplanner (centre)", centre, centre_s),
        ("kmeans", base, km_s),
        ("nearest-home split", near, None),
    )
    for name, k, secs in table:
        ratio = k.mean_travel_to_home_s / bound
        print(
            f"{name:>28} {k.max_workload_dev_pct:9.2f} {k.mean_travel_to_home_s:7.1f} "
            f"{k.mean_travel_to_home_s / near.mean_travel_to_home_s:7.3f} {ratio:8.3f} "
            f"{100.0 * (ratio - 1.0):6.1f} {k.contiguity_violations:8d} "
            f"{k.mean_travel_to_centre_s:8.1f} {'' if secs is None else f'{secs:8.2f}'}"
        )
    print(
        f"{'LP bound':>28} {'5.00':>9} {bound:7.1f} {bound / near.mean_travel_to_home_s:7.3f} "
        f"{1.0:8.3f} {0.0:6.1f}"
    )
    print(
        f"ratio k-means / routeplanner max deviation: "
        f"{base.max_workload_dev_pct / max(ours.max_workload_dev_pct, 1e-9):.1f}x; "
        f"travel to home {base.mean_travel_to_home_s / ours.mean_travel_to_home_s:.3f}x"
    )

    # Realignment after adding 10 % new accounts.
    new = make_accounts(travel, max(1, len(accounts) // 10), args.seed + 1, "N")
    grown = accounts + new
    ctx2 = build_context(grown, reps, travel)
    before = assignment_of(ctx2, plan.territories)
    unplaced = np.flatnonzero(before < 0)
    before[unplaced] = ctx2.n_reps + np.arange(len(unplaced))  # each its own "territory"
    split = count_violations(
        neighbour_graph(ctx2.neighbours, ctx2.account_s), before, ctx2.workload_s
    )
    print(
        f"design with the {len(unplaced)} new accounts unplaced: {split} enclave accounts "
        f"({'8 nearest only' if args.knn_only else '8 nearest + road cells'})"
    )
    t = time.perf_counter()
    options = realign_territories(
        plan.territories, grown, reps, travel, move_limits=[0, len(accounts) // 50, None]
    )
    realign_s = time.perf_counter() - t
    print(f"realignment after +{len(new)} accounts ({realign_s:.1f} s, {len(options)} options):")
    for o in options:
        print(
            f"  {o.label:>24}: moved {o.moved_accounts:4d}, max dev "
            f"{o.kpis.max_workload_dev_pct:5.1f} %, travel to home "
            f"{o.kpis.mean_travel_to_home_s:6.0f} s, enclaves {o.kpis.contiguity_violations}"
        )
    km2 = kmeans_assign(ctx2, args.seed)
    moved_km = int(np.sum(km2[: len(accounts)] != km))
    k2 = assignment_kpis(ctx2, km2)
    print(
        f"  {'k-means re-run':>24}: moved {moved_km:4d}, max dev "
        f"{k2.max_workload_dev_pct:5.1f} %, travel to home {k2.mean_travel_to_home_s:6.0f} s, "
        f"enclaves {k2.contiguity_violations}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
