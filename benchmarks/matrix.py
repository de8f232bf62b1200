"""Travel-time matrix: ours (scipy csgraph, multi-source) against a networkx Dijkstra loop.

    python -m benchmarks.matrix --osm PATH --points N --csv OUT [--seed S] [--nx-sources K]

Random points near the roads of any OSM extract (fixed seed) are moved onto their nearest graph
*node* (distinct nodes; topped up with random nodes where two points share one), so both methods
answer exactly the same node-to-node question:

* ``ours``: ``RoadTravel.durations`` (snapping + one multi-source ``csgraph.dijkstra``).
* ``ours_with_distances``: ``RoadTravel.matrix`` (also the distance of each fastest path).
* ``ours_edge_snapped``: ``RoadTravel.matrix`` on the original points, snapped to edges (what the
  planner really runs; no networkx counterpart, so no difference column).
* ``networkx``: ``single_source_dijkstra_path_length(weight="travel_time")`` per source. For
  large N it runs on the first K sources only and the time is scaled by N / K (printed).

``max_abs_diff_s`` compares our integer seconds with networkx's (rounded) on those K sources.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import numpy as np
from scipy.spatial import cKDTree

from routeplanner.model.geo import GeoPoint
from routeplanner.roads.graph import RoadGraph, load_road_graph
from routeplanner.roads.model import RoadModel
from routeplanner.roads.snap import random_road_points, to_xyz
from routeplanner.settings import Settings
from routeplanner.travel.road import RoadTravel

COLUMNS = ["method", "points", "seconds", "ratio_vs_networkx", "max_abs_diff_s"]


def _median_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _nx_graph(graph: RoadGraph) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(graph.nodes))
    for e, (u, v) in enumerate(zip(graph.tails.tolist(), graph.indices.tolist(), strict=True)):
        g.add_edge(u, v, key=e, travel_time=float(graph.travel_time_s[e]))
    return g


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, required=True)
    parser.add_argument("--points", type=int, required=True)
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--nx-sources", type=int, default=100, help="networkx sources timed")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours (median)")
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)

    graph = load_road_graph(
        args.osm,
        cache_dir=args.cache_dir or Settings().cache_dir,
        model=RoadModel.free_flow_model(),
    )
    n = args.points
    print(f"{args.osm}: {graph.nodes:,} nodes, {graph.edges:,} edges; {n} points, seed {args.seed}")
    lat, lon = random_road_points(graph, n, seed=args.seed)
    _, nearest = cKDTree(to_xyz(graph.lat, graph.lon)).query(to_xyz(lat, lon))
    # Distinct nodes, so neither method gains from repeated sources; top up with random nodes.
    nodes = np.asarray(list(dict.fromkeys(np.asarray(nearest).tolist())), dtype=np.int64)
    if len(nodes) < n:
        rest = np.setdiff1d(np.arange(graph.nodes), nodes)
        extra = np.random.default_rng(args.seed).choice(rest, n - len(nodes), replace=False)
        nodes = np.concatenate([nodes, extra])
    node_points = [GeoPoint(float(graph.lat[i]), float(graph.lon[i])) for i in nodes]
    edge_points = [GeoPoint(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]

    start = time.perf_counter()
    travel = RoadTravel(graph)
    print(f"RoadTravel setup (edge index, routing graph): {time.perf_counter() - start:.3f} s")
    ours_s, ours = _median_time(lambda: travel.durations(node_points), args.repeat)
    full_s, full = _median_time(lambda: travel.matrix(node_points), args.repeat)
    edge_s, _ = _median_time(lambda: travel.matrix(edge_points), args.repeat)
    assert isinstance(ours, np.ndarray)
    np.testing.assert_array_equal(full.durations_s, ours)  # type: ignore[union-attr]

    k = min(n, args.nx_sources)
    reference = _nx_graph(graph)
    start = time.perf_counter()
    rows = []
    for src in nodes[:k].tolist():
        dist = nx.single_source_dijkstra_path_length(reference, src, weight="travel_time")
        rows.append([dist[int(dst)] for dst in nodes])
    nx_s = (time.perf_counter() - start) * n / k
    if k < n:
        print(f"networkx timed on {k} of {n} sources, time scaled by {n / k:.1f}")
    expected = np.rint(np.array(rows))
    diff = int(np.abs(ours[:k] - expected).max())
    diff_full = int(np.abs(full.durations_s[:k] - expected).max())  # type: ignore[union-attr]

    results = [
        ("ours", ours_s, diff),
        ("ours_with_distances", full_s, diff_full),
        ("ours_edge_snapped", edge_s, None),
        ("networkx", nx_s, 0),
    ]
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for method, seconds, max_diff in results:
            writer.writerow(
                [
                    method,
                    n,
                    f"{seconds:.4f}",
                    f"{nx_s / seconds:.1f}",
                    "" if max_diff is None else max_diff,
                ]
            )
    print(f"{'method':<22}{'points':>7}{'seconds':>10}{'x networkx':>12}{'max diff s':>12}")
    for method, seconds, max_diff in results:
        shown = "-" if max_diff is None else str(max_diff)
        print(f"{method:<22}{n:>7}{seconds:>10.3f}{nx_s / seconds:>12.1f}{shown:>12}")
    print(f"wrote {args.csv}")
    return 0 if diff == 0 and diff_full == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
