"""``routeplanner roads`` (prepare and cache an OSM extract) and ``routeplanner matrix``."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path
from typing import Annotated

import typer

from routeplanner.cli import app, err_console
from routeplanner.cli._common import progress_bar
from routeplanner.errors import InputError, Problem
from routeplanner.io.tables import render_csv
from routeplanner.model.geo import GeoPoint
from routeplanner.roads.graph import RoadGraph, cache_file, load_road_graph
from routeplanner.roads.snap import random_road_points
from routeplanner.settings import Settings
from routeplanner.travel.road import RoadTravel


def _load(osm: Path, cache_dir: Path | None, *, no_cache: bool, show_progress: bool) -> RoadGraph:
    settings = Settings()
    cache = None if no_cache else (cache_dir or settings.cache_dir)
    with progress_bar(f"roads {osm.name}", enabled=show_progress) as report:
        return load_road_graph(osm, cache_dir=cache, model=settings.road_model, progress=report)


@app.command("roads")
def roads_command(
    path: Annotated[Path, typer.Argument(help="OSM extract: .osm.pbf, .osm, .osm.gz or .osm.bz2.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout.")
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Folder of prepared graphs (default: RP_CACHE_DIR)."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Build from the file, store nothing.")
    ] = False,
) -> None:
    """Prepare the drivable road network of an OSM file (cached by content hash); print its size."""
    graph = _load(path, cache_dir, no_cache=no_cache, show_progress=not as_json)
    min_lon, min_lat, max_lon, max_lat = graph.bbox
    summary = {
        "path": str(path),
        "sha256": graph.sha256,
        "nodes": graph.nodes,
        "edges": graph.edges,
        "seconds": round(graph.load_seconds, 4),
        "cached": graph.from_cache,
        "bbox": [min_lon, min_lat, max_lon, max_lat],
        "cache_file": None
        if no_cache
        else str(cache_file(cache_dir or Settings().cache_dir, graph.sha256, model=graph.model)),
    }
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
        return
    source = "cache" if graph.from_cache else "OSM file"
    sys.stdout.write(
        f"{path}: {graph.nodes:,} nodes, {graph.edges:,} directed edges, loaded from {source}"
        f" in {graph.load_seconds:.2f} s; bbox lon {min_lon:.4f}..{max_lon:.4f},"
        f" lat {min_lat:.4f}..{max_lat:.4f}\n"
    )


@app.command("matrix")
def matrix_command(
    osm: Annotated[Path, typer.Option("--osm", help="OSM extract of the region.")],
    points: Annotated[
        int | None, typer.Option("--points", min=1, help="Random points near roads.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --points.")] = 0,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="CSV with columns id,lat,lon.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="Write the matrix CSV here.")
    ] = None,
    distances: Annotated[
        bool,
        typer.Option("--distances", help="Write metres along the fastest path, not seconds."),
    ] = False,
    max_snap_m: Annotated[
        float | None,
        typer.Option("--max-snap-m", help="Farther than this from a road = unreachable."),
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Folder of prepared graphs.")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not use the graph cache.")
    ] = False,
) -> None:
    """Travel-time (or distance) matrix between points on the road network, as CSV."""
    if (points is None) == (csv_file is None):
        msg = "give exactly one of --points N or --csv FILE"
        raise InputError(Problem("matrix", None, None, msg))
    ids: list[str]
    locations: list[GeoPoint]
    rows: list[int | None]
    if csv_file is not None:
        ids, locations, rows = read_points_csv(csv_file)
    graph = _load(osm, cache_dir, no_cache=no_cache, show_progress=True)
    if points is not None:
        lat, lon = random_road_points(graph, points, seed=seed)
        ids = [f"p{i + 1}" for i in range(points)]
        locations = [GeoPoint(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
        rows = [None] * points
    limit = max_snap_m if max_snap_m is not None else Settings().max_snap_m
    travel = RoadTravel(graph, max_snap_m=limit)
    report = travel.snap(list(zip(ids, locations, strict=True)))
    source = str(csv_file) if csv_file is not None else "random points"
    problems = [
        Problem(
            source,
            rows[i],
            "lat/lon",
            f"{snap.point_id}: {snap.distance_m:.0f} m from the nearest drivable road"
            f" (limit {limit:.0f} m): unreachable",
        )
        for i, snap in enumerate(report.snaps)
        if not snap.reachable
    ]
    if problems:
        raise InputError(problems)
    result = travel.matrix(locations)
    values = result.distances_m if distances else result.durations_s
    text = render_csv(
        ["id", *ids],
        ([point_id, *row] for point_id, row in zip(ids, values.tolist(), strict=True)),
    )
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        unit = "metres" if distances else "seconds"
        err_console.print(f"wrote {len(ids)}x{len(ids)} matrix ({unit}) to {out}", markup=False)


def read_points_csv(path: Path) -> tuple[list[str], list[GeoPoint], list[int | None]]:
    """Read ``id,lat,lon`` rows, collecting every problem (file, row, field) before failing."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(Problem(source, None, None, f"cannot read file ({exc})")) from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("id", "lat", "lon") if c not in (reader.fieldnames or [])]
    if missing:
        msg = f"missing column(s) {', '.join(missing)}; expected a header id,lat,lon"
        raise InputError(Problem(source, 1, None, msg))
    problems: list[Problem] = []
    ids: list[str] = []
    locations: list[GeoPoint] = []
    rows: list[int | None] = []
    seen: dict[str, int] = {}
    for row_no, record in enumerate(reader, start=2):
        point_id = (record.get("id") or "").strip()
        if not point_id:
            problems.append(Problem(source, row_no, "id", "is empty"))
        elif point_id in seen:
            problems.append(
                Problem(source, row_no, "id", f"{point_id!r} repeats row {seen[point_id]}")
            )
        else:
            seen[point_id] = row_no
        coords = {}
        for field, low, high in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
            raw = (record.get(field) or "").strip()
            try:
                value = float(raw)
            except ValueError:
                problems.append(Problem(source, row_no, field, f"{raw!r} is not a number"))
                continue
            if not math.isfinite(value) or not low <= value <= high:
                problems.append(
                    Problem(source, row_no, field, f"{raw} is outside {low:g}..{high:g}")
                )
                continue
            coords[field] = value
        if len(coords) == 2 and point_id:
            ids.append(point_id)
            locations.append(GeoPoint(coords["lat"], coords["lon"]))
            rows.append(row_no)
    if not problems and not ids:
        problems.append(Problem(source, None, None, "no points"))
    if problems:
        raise InputError(problems)
    return ids, locations, rows
