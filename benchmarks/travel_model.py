"""Travel times against OSRM's car profile: the free-flow model and the road model, one run.

    python -m benchmarks.travel_model --osm PATH --pairs N --csv OUT [--seed S]
        [--matrix-points 2000] [--repeat 3] [--model-json JSON]

Random points near the roads of the extract (fixed seed) are snapped to the road model's
network, and those snapped positions go to both engines, so both answer the same question;
points OSRM puts more than 1 m away (on a road we do not drive, such as a service road) are
left out and counted. ``N`` ordered pairs of distinct points are drawn from all pairs. For
each model: the median, 10th and 90th percentile of OSRM's duration over ours, the correlation
of the two, and the time of a 2,000 × 2,000 matrix (median of ``--repeat``), both models timed
in this run. OSRM runs from ``var/osrm`` (``bash benchmarks/osrm_setup.sh``), bound to
127.0.0.1 for the duration of the run.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from benchmarks import osrm
from routeplanner.model.geo import GeoPoint
from routeplanner.roads.graph import RoadGraph, load_road_graph
from routeplanner.roads.model import RoadModel
from routeplanner.roads.snap import random_road_points
from routeplanner.settings import Settings
from routeplanner.travel.road import RoadTravel

COLUMNS = [
    "model",
    "pairs",
    "median_ratio_vs_osrm",
    "p10_ratio",
    "p90_ratio",
    "correlation",
    "matrix_2000_s",
]
FloatArray = npt.NDArray[np.float64]
MOVED_LIMIT_M = 1.0


@dataclass(frozen=True, slots=True)
class Agreement:
    pairs: int
    median: float
    p10: float
    p90: float
    correlation: float


def agreement(reference: FloatArray, ours: FloatArray) -> Agreement:
    """Ratio reference/ours over the pairs (both positive), and their Pearson correlation."""
    ok = (reference > 0) & (ours > 0) & np.isfinite(reference)
    ratio = reference[ok] / ours[ok]
    return Agreement(
        pairs=int(ok.sum()),
        median=float(np.median(ratio)),
        p10=float(np.percentile(ratio, 10)),
        p90=float(np.percentile(ratio, 90)),
        correlation=float(np.corrcoef(reference[ok], ours[ok])[0, 1]),
    )


def sample_pairs(count: int, pairs: int, seed: int) -> tuple[npt.NDArray[np.int64], ...]:
    """``pairs`` distinct ordered (i, j) index pairs, i != j, drawn from ``count`` points."""
    total = count * (count - 1)
    if pairs > total:
        msg = f"{pairs} pairs asked but {count} points give only {total}"
        raise ValueError(msg)
    flat = np.random.default_rng(seed).choice(total, size=pairs, replace=False)
    i = flat // (count - 1)
    j = flat % (count - 1)
    j = j + (j >= i)
    return i.astype(np.int64), j.astype(np.int64)


def points_needed(pairs: int) -> int:
    """Fewest points whose ordered pairs number at least ``pairs`` (plus a margin of 10 %)."""
    return math.ceil((1 + math.sqrt(1 + 4 * pairs)) / 2 * 1.1) + 2


def matrix_seconds(travel: RoadTravel, graph: RoadGraph, seed: int, n: int, repeat: int) -> float:
    lat, lon = random_road_points(graph, n, seed=seed + 1)
    points = [GeoPoint(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    travel.matrix(points[:10])  # compile outside the timing
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        travel.matrix(points)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(
    graphs: dict[str, RoadGraph], url: str, pairs: int, seed: int
) -> tuple[dict[str, Agreement], int, int]:
    """Agreement of every model with OSRM on the same snapped points; also points used/left out."""
    base = graphs["routeplanner"]
    n = points_needed(pairs)
    lat, lon = random_road_points(base, n, seed=seed)
    snaps = RoadTravel(base).snap_edges(
        [GeoPoint(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    )
    reference, moved = osrm.table(url, snaps.lat.tolist(), snaps.lon.tolist())
    keep = np.flatnonzero(moved <= MOVED_LIMIT_M)
    points = [GeoPoint(float(snaps.lat[k]), float(snaps.lon[k])) for k in keep]
    i, j = sample_pairs(len(keep), pairs, seed)
    ref = reference[np.ix_(keep, keep)][i, j]
    results = {}
    for name, graph in graphs.items():
        ours = RoadTravel(graph).durations(points)[i, j].astype(float)
        results[name] = agreement(ref, ours)
    return results, len(keep), n - len(keep)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, required=True)
    parser.add_argument("--pairs", type=int, required=True)
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--matrix-points", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="timed matrix runs (median)")
    parser.add_argument("--model-json", default="", help="road model overrides, as JSON")
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")

    cache = args.cache_dir or Settings().cache_dir
    model = RoadModel(**json.loads(args.model_json)) if args.model_json else RoadModel()
    graphs = {
        "free-flow": load_road_graph(args.osm, cache_dir=cache, model=RoadModel.free_flow_model()),
        "routeplanner": load_road_graph(args.osm, cache_dir=cache, model=model),
    }
    try:
        binaries = osrm.find_osrm()
    except osrm.OsrmMissingError as exc:
        print(exc, file=sys.stderr)
        return 2
    base = osrm.prepare(binaries, args.osm)
    with osrm.serve(binaries, base, max_table=points_needed(args.pairs) + 10) as url:
        results, used, left_out = compare(graphs, url, args.pairs, args.seed)
    print(
        f"{args.osm}: {used} points ({left_out} left out: OSRM snapped them > {MOVED_LIMIT_M} m"
        f" away), {args.pairs} pairs, seed {args.seed}"
    )
    timing = {
        name: matrix_seconds(RoadTravel(g), g, args.seed, args.matrix_points, args.repeat)
        for name, g in graphs.items()
    }
    rows = [
        [
            name,
            r.pairs,
            f"{r.median:.3f}",
            f"{r.p10:.3f}",
            f"{r.p90:.3f}",
            f"{r.correlation:.4f}",
            f"{timing[name]:.3f}",
        ]
        for name, r in results.items()
    ]
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    widths = [14, 8, 22, 10, 10, 12, 14]
    print("".join(f"{c:>{w}}" for c, w in zip(COLUMNS, widths, strict=True)))
    for row in rows:
        print("".join(f"{c!s:>{w}}" for c, w in zip(row, widths, strict=True)))
    ratio = timing["routeplanner"] / timing["free-flow"]
    print(f"matrix {args.matrix_points}x{args.matrix_points}: road model {ratio:.2f}x free-flow")
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
