"""Road graph loading: cold build (pyosmium filter + osmnx) against the cached ``.npz`` arrays.

    python -m benchmarks.roads_load --osm PATH [--csv OUT] [--cold N] [--cached N]

Each cold run builds into a fresh empty cache folder; cached runs then load the file it wrote
(hashing the OSM file included, as in real use). Medians are reported.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
from pathlib import Path

from routeplanner.roads.graph import load_road_graph

COLUMNS = ["method", "nodes", "edges", "seconds", "ratio_vs_cold"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, required=True)
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument("--cold", type=int, default=1, help="cold builds (median)")
    parser.add_argument("--cached", type=int, default=5, help="cached loads (median)")
    args = parser.parse_args(argv)

    cold, cached = [], []
    with tempfile.TemporaryDirectory(prefix="rp-bench-cache-") as tmp:
        for i in range(args.cold):
            graph = load_road_graph(args.osm, cache_dir=Path(tmp) / str(i))
            assert not graph.from_cache
            cold.append(graph.load_seconds)
        for _ in range(args.cached):
            again = load_road_graph(args.osm, cache_dir=Path(tmp) / "0")
            assert again.from_cache
            cached.append(again.load_seconds)
    cold_s, cached_s = statistics.median(cold), statistics.median(cached)
    rows = [("cold", cold_s, 1.0), ("cached", cached_s, cold_s / cached_s)]
    print(f"{args.osm}: {graph.nodes:,} nodes, {graph.edges:,} edges")
    print(f"{'method':<8}{'seconds':>10}{'x faster':>10}")
    for method, seconds, ratio in rows:
        print(f"{method:<8}{seconds:>10.4f}{ratio:>10.0f}")
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            for method, seconds, ratio in rows:
                writer.writerow(
                    [method, graph.nodes, graph.edges, f"{seconds:.4f}", f"{ratio:.1f}"]
                )
        print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
