"""Fit the road model's defaults to OSRM's car profile on one extract (the tuning extract).

    python -m benchmarks.tune_travel_model --osm PATH [--points 250] [--rounds 3] [--seed S]

Coordinate descent over a few of the model's numbers: each is scaled up and down in steps
and a step kept while it lowers the loss, the spread of OSRM/ours (``log p90 - log p10``)
plus the distance of the median from 1 (``|log median|``). Only the pricing changes between trials,
so the OSM file is read and the graph topology simplified once; each trial re-prices the
segments and re-sums them along the same simplified roads. The held-out extract is then checked
with ``benchmarks.travel_model``. Prints the best model as JSON (for ``--model-json`` and for
the defaults in ``routeplanner/roads/model.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import osrm
from benchmarks.travel_model import MOVED_LIMIT_M, agreement, sample_pairs
from routeplanner.model.geo import GeoPoint
from routeplanner.roads import build
from routeplanner.roads.graph import _make_graph, file_sha256
from routeplanner.roads.model import RoadModel
from routeplanner.roads.snap import random_road_points
from routeplanner.travel.road import RoadTravel

#: (field, class or None; "*": every class together): the numbers the descent moves. Few
#: and shared on purpose: a factor per class would fit the noise of the classes the tuning
#: extract has little of.
KNOBS: list[tuple[str, str | None]] = [
    ("posted_speed_factor", "*"),
    ("urban_speed_factor", None),
    ("urban_min_junctions", None),
    ("signal_s", None),
    ("crossing_signal_s", None),
    ("stop_s", None),
    ("turn_left_s", None),
    ("turn_right_s", None),
    ("junction_s", None),
]


class _Reuse:
    """Memoises the OSM read and the simplified topology across trials (tuning only)."""

    def __init__(self) -> None:
        self.extract: Any = None
        self.raw: Any = None
        self.simplified: Any = None

    def install(self) -> None:
        import osmnx as ox

        original_extract = build.extract_drivable
        original_xml = ox.graph_from_xml
        original_simplify = ox.simplify_graph

        def extract(*args: Any, **kwargs: Any) -> Any:
            if self.extract is None:
                self.extract = original_extract(*args, **kwargs)
            return self.extract

        def from_xml(*args: Any, **kwargs: Any) -> Any:
            if self.raw is None:
                self.raw = original_xml(*args, **kwargs)
            return self.raw

        def simplify(graph: Any, **kwargs: Any) -> Any:
            if self.simplified is None:
                self.simplified = original_simplify(graph, **kwargs)
                return self.simplified.copy()
            return _resum(self.simplified.copy(), self.raw)

        build.extract_drivable = extract  # type: ignore[assignment]
        ox.graph_from_xml = from_xml
        ox.simplify_graph = simplify


def _resum(simplified: Any, raw: Any) -> Any:
    """The simplified roads with their segment sums taken again from re-priced segments."""
    for u, v, k, data in simplified.edges(keys=True, data=True):
        merged = data.get("merged_edges")
        parts = (
            [next(iter(raw.get_edge_data(a, b).values())) for a, b in merged]
            if merged
            else [raw[u][v][k]]
        )
        data["rp_time"] = sum(p["rp_time"] for p in parts)
        data["rp_delay"] = sum(p["rp_delay"] for p in parts)
    return simplified


def _with(model: RoadModel, field: str, klass: str | None, value: float) -> RoadModel:
    data = model.model_dump()
    if klass is None:
        data[field] = value
    elif klass == "*":  # every class moves by the same ratio
        ratio = value / _get(model, field, klass)
        data[field] = {k: v * ratio for k, v in data[field].items()}
    else:
        data[field] = {**data[field], klass: value}
    return RoadModel(**data)


def _get(model: RoadModel, field: str, klass: str | None) -> float:
    value = getattr(model, field)
    if klass == "*":
        return float(np.mean(list(value.values())))
    return float(value if klass is None else value[klass])


def loss_of(agree: Any) -> float:
    return math.log(agree.p90 / agree.p10) + abs(math.log(agree.median))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, required=True)
    parser.add_argument("--points", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start-json", default="", help="model to start from, as JSON")
    args = parser.parse_args(argv)

    _Reuse().install()
    sha = file_sha256(args.osm)

    def graph_of(model: RoadModel) -> Any:
        arrays, stats = build.build_arrays(args.osm, model, lambda _s, _f: None)
        return _make_graph(args.osm, sha, arrays, model=model, stats=stats)

    start = RoadModel(**json.loads(args.start_json)) if args.start_json else RoadModel()
    first = graph_of(start)
    lat, lon = random_road_points(first, args.points, seed=args.seed)
    snaps = RoadTravel(first).snap_edges(
        [GeoPoint(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    )
    binaries = osrm.find_osrm()
    base = osrm.prepare(binaries, args.osm)
    with osrm.serve(binaries, base, max_table=args.points + 10) as url:
        reference, moved = osrm.table(url, snaps.lat.tolist(), snaps.lon.tolist())
    keep = np.flatnonzero(moved <= MOVED_LIMIT_M)
    points = [GeoPoint(float(snaps.lat[k]), float(snaps.lon[k])) for k in keep]
    pairs = len(keep) * (len(keep) - 1)
    i, j = sample_pairs(len(keep), pairs, args.seed)
    ref = reference[np.ix_(keep, keep)][i, j]

    def evaluate(model: RoadModel) -> tuple[float, Any]:
        ours = RoadTravel(graph_of(model)).durations(points)[i, j].astype(float)
        agree = agreement(ref, ours)
        return loss_of(agree), agree

    best_model = start
    best, agree = evaluate(best_model)
    report: Callable[[str], None] = print
    report(f"start: loss {best:.4f} {agree}")
    for round_no in range(args.rounds):
        step = 0.1 / (round_no + 1)
        for field, klass in KNOBS:
            for direction in (1, -1):
                moved = False
                for _ in range(6):  # keep going while it pays (a line search in steps)
                    value = _get(best_model, field, klass)
                    trial = value * (1 + direction * step) if value else float(direction > 0)
                    if field == "urban_speed_factor":
                        trial = min(trial, 1.0)
                    if field == "urban_min_junctions":
                        trial = max(1, round(trial + direction * (trial == value)))
                    try:
                        candidate = _with(best_model, field, klass, trial)
                    except ValueError:
                        break
                    loss, found = evaluate(candidate)
                    if loss >= best - 1e-4:
                        break
                    best, agree, best_model, moved = loss, found, candidate, True
                    report(
                        f"round {round_no} {field}[{klass}] = {trial:.3f}: loss {loss:.4f} {found}"
                    )
                if moved:
                    break
    print(json.dumps(best_model.model_dump(exclude={"free_flow", "free_flow_speed_kmh"}), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
