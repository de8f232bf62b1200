"""The drivable road network of an OSM extract as plain numpy arrays, cached on disk by file hash.

Building the graph with osmnx takes seconds to tens of seconds (topology simplification
dominates); loading the same arrays from an uncompressed ``.npz`` takes milliseconds. GraphML
(seconds to load) and pickle (unsafe, tied to library versions) were rejected for the cache.

Travel times are kept as ``float64`` seconds per edge, exactly as osmnx computes them: summing
rounded per-edge integers along a route of hundreds of edges would drift by minutes, so only the
final route totals are rounded to integer seconds (in :mod:`routeplanner.travel.road`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from routeplanner.errors import RoadNetworkError, RoutePlannerWarning
from routeplanner.roads.osm_filter import FilterStats, write_drivable_xml

#: Bump when the array layout or the way the graph is built changes: old cache files are then
#: ignored instead of being misread.
FORMAT_VERSION = 1

#: Typical free-flow speeds (km/h) per OSM highway class, used for edges without ``maxspeed``.
#: They follow common European limits (urban 50, rural 70-100); a class missing here takes
#: the mean ``maxspeed`` of its class in the file, else ``fallback_kmh``.
DEFAULT_HWY_SPEEDS_KMH: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 110.0,
        "motorway_link": 60.0,
        "trunk": 90.0,
        "trunk_link": 50.0,
        "primary": 70.0,
        "primary_link": 40.0,
        "secondary": 60.0,
        "secondary_link": 40.0,
        "tertiary": 50.0,
        "tertiary_link": 30.0,
        "unclassified": 40.0,
        "residential": 30.0,
        "living_street": 10.0,
        "road": 40.0,
        "busway": 30.0,
    }
)
DEFAULT_FALLBACK_KMH = 40.0

Progress = Callable[[str, float], None]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_ARRAYS = (
    "node_ids",
    "lat",
    "lon",
    "indptr",
    "indices",
    "travel_time_s",
    "length_m",
    "geom_offsets",
    "geom_lat",
    "geom_lon",
)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RoadGraph:
    """A directed drivable road graph in CSR form; every array is read-only.

    Edges are sorted by tail node: the edges leaving node ``i`` are ``indptr[i]:indptr[i+1]``
    and ``indices[e]`` is the head of edge ``e``. Parallel edges between the same two nodes are
    kept (they are different roads to snap to). Edge ``e``'s polyline is
    ``geom_lat/geom_lon[geom_offsets[e]:geom_offsets[e+1]]``, from its tail node to its head
    node, both included. Every node can reach every other node (largest strongly connected
    component).

    ``nodes`` and ``edges`` are counts; ``from_cache`` and ``load_seconds`` describe this load.
    """

    source: Path
    sha256: str
    node_ids: IntArray
    lat: FloatArray
    lon: FloatArray
    indptr: IntArray
    indices: IntArray
    travel_time_s: FloatArray
    length_m: FloatArray
    geom_offsets: IntArray
    geom_lat: FloatArray
    geom_lon: FloatArray
    from_cache: bool = False
    load_seconds: float = 0.0
    stats: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, m = len(self.node_ids), len(self.indices)
        if len(self.lat) != n or len(self.lon) != n or len(self.indptr) != n + 1:
            msg = "node arrays and indptr disagree on the number of nodes"
            raise ValueError(msg)
        if len(self.travel_time_s) != m or len(self.length_m) != m:
            msg = "edge arrays disagree on the number of edges"
            raise ValueError(msg)
        if len(self.geom_offsets) != m + 1 or self.geom_offsets[-1] != len(self.geom_lat):
            msg = "geometry offsets do not match the coordinate arrays"
            raise ValueError(msg)
        for name in _ARRAYS:
            getattr(self, name).setflags(write=False)

    @property
    def nodes(self) -> int:
        return len(self.node_ids)

    @property
    def edges(self) -> int:
        return len(self.indices)

    @property
    def tails(self) -> IntArray:
        """Tail node of every edge (the CSR row), expanded for vectorised code."""
        return np.repeat(np.arange(self.nodes, dtype=np.int64), np.diff(self.indptr))

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` over all edge geometry."""
        return (
            float(self.geom_lon.min()),
            float(self.geom_lat.min()),
            float(self.geom_lon.max()),
            float(self.geom_lat.max()),
        )

    def edge_polyline(self, edge: int) -> list[tuple[float, float]]:
        """``(lat, lon)`` vertices of one edge, tail to head."""
        a, b = int(self.geom_offsets[edge]), int(self.geom_offsets[edge + 1])
        return list(zip(self.geom_lat[a:b].tolist(), self.geom_lon[a:b].tolist(), strict=True))

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays by name, as cached; two graphs are the same network iff these are equal."""
        return {name: getattr(self, name) for name in _ARRAYS}


def file_sha256(path: Path) -> str:
    """Content hash of the OSM file: the cache key must change when the data do, not the name."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _settings_key(hwy_speeds: Mapping[str, float], fallback_kmh: float) -> dict[str, Any]:
    # The installed version from package metadata: importing osmnx itself takes seconds.
    return {
        "format": FORMAT_VERSION,
        "network": "drive",
        "osmnx": metadata.version("osmnx"),
        "hwy_speeds_kmh": {k: float(v) for k, v in sorted(hwy_speeds.items())},
        "fallback_kmh": float(fallback_kmh),
    }


def cache_file(
    cache_dir: Path,
    sha256: str,
    *,
    hwy_speeds: Mapping[str, float] | None = None,
    fallback_kmh: float = DEFAULT_FALLBACK_KMH,
) -> Path:
    """Where the prepared graph for this file content and these settings is cached."""
    speeds = DEFAULT_HWY_SPEEDS_KMH if hwy_speeds is None else hwy_speeds
    key = json.dumps(_settings_key(speeds, fallback_kmh), sort_keys=True)
    settings_hash = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir / f"roads-{sha256[:24]}-{settings_hash}-v{FORMAT_VERSION}.npz"


def load_road_graph(
    path: Path,
    *,
    cache_dir: Path | None = None,
    hwy_speeds: Mapping[str, float] | None = None,
    fallback_kmh: float = DEFAULT_FALLBACK_KMH,
    progress: Progress | None = None,
) -> RoadGraph:
    """Prepare (or load from cache) the drivable road graph of any OSM extract.

    Parameters
    ----------
    path
        ``.osm.pbf``, ``.osm``, ``.osm.gz`` or ``.osm.bz2``, possibly clipped at a bounding box.
    cache_dir
        Folder for prepared graphs; ``None`` disables caching. The cache key is the SHA-256 of
        the file content plus the settings below, the osmnx version and :data:`FORMAT_VERSION`.
    hwy_speeds
        km/h per highway class for edges without a usable ``maxspeed`` (``"50 mph"`` is
        converted by osmnx); :data:`DEFAULT_HWY_SPEEDS_KMH` when ``None``.
    fallback_kmh
        Speed for highway classes with neither a ``maxspeed`` in the file nor an entry above.
    progress
        Called with ``(stage, fraction_done)`` as the work advances.

    Raises
    ------
    RoadNetworkError
        Missing, unreadable or garbled file, or no drivable network in it (message names it).
    """
    started = time.perf_counter()
    report = progress or (lambda _stage, _fraction: None)
    path = Path(path)
    if path.is_dir():
        msg = f"{path}: is a folder, not an OSM file"
        raise RoadNetworkError(msg)
    if not path.is_file():
        msg = f"{path}: file not found"
        raise RoadNetworkError(msg)
    speeds = DEFAULT_HWY_SPEEDS_KMH if hwy_speeds is None else hwy_speeds
    report("hashing file", 0.0)
    try:
        sha = file_sha256(path)
    except OSError as exc:
        msg = f"{path}: cannot read file ({exc.strerror or exc})"
        raise RoadNetworkError(msg) from exc
    target = None
    if cache_dir is not None:
        target = cache_file(cache_dir, sha, hwy_speeds=speeds, fallback_kmh=fallback_kmh)
        cached = _read_cache(target, path, sha, _settings_key(speeds, fallback_kmh))
        if cached is not None:
            report("loaded from cache", 1.0)
            return _with_timing(cached, started, from_cache=True)
    arrays, stats = _build_arrays(path, speeds, fallback_kmh, report)
    graph = _make_graph(path, sha, arrays, stats=stats)
    if target is not None:
        report("saving cache", 0.95)
        try:
            _write_cache(target, graph, _settings_key(speeds, fallback_kmh))
        except OSError as exc:  # a read-only cache must not stop the planner
            msg = f"cannot write road graph cache {target}: {exc}; the next load rebuilds it"
            warnings.warn(msg, RoutePlannerWarning, stacklevel=2)
    report("done", 1.0)
    return _with_timing(graph, started, from_cache=False)


def _with_timing(graph: RoadGraph, started: float, *, from_cache: bool) -> RoadGraph:
    return _make_graph(
        graph.source,
        graph.sha256,
        graph.arrays(),
        stats=graph.stats,
        from_cache=from_cache,
        load_seconds=time.perf_counter() - started,
    )


def _make_graph(
    source: Path,
    sha: str,
    arrays: Mapping[str, npt.NDArray[Any]],
    *,
    stats: Mapping[str, int],
    from_cache: bool = False,
    load_seconds: float = 0.0,
) -> RoadGraph:
    return RoadGraph(
        source=source,
        sha256=sha,
        node_ids=arrays["node_ids"],
        lat=arrays["lat"],
        lon=arrays["lon"],
        indptr=arrays["indptr"],
        indices=arrays["indices"],
        travel_time_s=arrays["travel_time_s"],
        length_m=arrays["length_m"],
        geom_offsets=arrays["geom_offsets"],
        geom_lat=arrays["geom_lat"],
        geom_lon=arrays["geom_lon"],
        from_cache=from_cache,
        load_seconds=load_seconds,
        stats=dict(stats),
    )


def _build_arrays(
    path: Path, speeds: Mapping[str, float], fallback_kmh: float, report: Progress
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, int]]:
    import osmnx as ox

    with tempfile.TemporaryDirectory(prefix="rp-osm-") as tmp:
        xml = Path(tmp) / "drivable.osm"
        report("reading OSM file", 0.05)
        stats: FilterStats = write_drivable_xml(path, xml)
        report("building graph", 0.3)
        try:
            graph = ox.graph_from_xml(xml, simplify=True, retain_all=False)
        except Exception as exc:  # osmnx raises several unrelated types for bad data
            msg = f"{path}: cannot build a road graph ({exc})"
            raise RoadNetworkError(msg) from exc
    report("adding speeds", 0.8)
    graph = ox.truncate.largest_component(graph, strongly=True)
    if graph.number_of_edges() == 0:
        msg = (
            f"{path}: no drivable network (the {stats.ways_kept} drivable way(s) do not form a"
            " connected network that can be driven in both directions)"
        )
        raise RoadNetworkError(msg)
    graph = ox.add_edge_speeds(graph, hwy_speeds=dict(speeds), fallback=fallback_kmh)
    graph = ox.add_edge_travel_times(graph)
    report("packing arrays", 0.9)
    counts = {
        "ways_read": stats.ways_read,
        "ways_kept": stats.ways_kept,
        "ways_split": stats.ways_split,
        "node_refs_missing": stats.node_refs_missing,
    }
    return _pack(graph), counts


def _pack(graph: Any) -> dict[str, npt.NDArray[Any]]:
    """MultiDiGraph -> CSR arrays; geometry oriented tail to head with exact node endpoints."""
    node_ids = np.array(sorted(graph.nodes), dtype=np.int64)
    index = {int(n): i for i, n in enumerate(node_ids)}
    lat = np.array([graph.nodes[n]["y"] for n in node_ids], dtype=np.float64)
    lon = np.array([graph.nodes[n]["x"] for n in node_ids], dtype=np.float64)
    rows: list[tuple[int, int, float, float, list[tuple[float, float]]]] = []
    for u, v, data in graph.edges(data=True):
        iu, iv = index[int(u)], index[int(v)]
        geom = data.get("geometry")
        if geom is None:
            pts = [(lat[iu], lon[iu]), (lat[iv], lon[iv])]
        else:
            pts = [(y, x) for x, y in geom.coords]
            if _sq(pts[0], (lat[iu], lon[iu])) > _sq(pts[-1], (lat[iu], lon[iu])):
                pts.reverse()
            pts[0], pts[-1] = (lat[iu], lon[iu]), (lat[iv], lon[iv])
        rows.append((iu, iv, float(data["travel_time"]), float(data["length"]), pts))
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    tails = np.array([r[0] for r in rows], dtype=np.int64)
    counts = np.bincount(tails, minlength=len(node_ids))
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    sizes = np.array([len(r[4]) for r in rows], dtype=np.int64)
    coords = np.array([p for r in rows for p in r[4]], dtype=np.float64).reshape(-1, 2)
    return {
        "node_ids": node_ids,
        "lat": lat,
        "lon": lon,
        "indptr": indptr,
        "indices": np.array([r[1] for r in rows], dtype=np.int64),
        "travel_time_s": np.array([r[2] for r in rows], dtype=np.float64),
        "length_m": np.array([r[3] for r in rows], dtype=np.float64),
        "geom_offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        "geom_lat": np.ascontiguousarray(coords[:, 0]),
        "geom_lon": np.ascontiguousarray(coords[:, 1]),
    }


def _sq(a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def _read_cache(target: Path, source: Path, sha: str, settings: dict[str, Any]) -> RoadGraph | None:
    """The cached graph, or None when absent, stale or damaged (then it is simply rebuilt)."""
    if not target.is_file():
        return None
    try:
        with np.load(target, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("settings") != settings or meta.get("sha256") != sha:
                return None
            arrays = {name: np.array(data[name]) for name in _ARRAYS}
        return _make_graph(source, sha, arrays, stats=meta.get("stats", {}))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError):
        return None


def _write_cache(target: Path, graph: RoadGraph, settings: dict[str, Any]) -> None:
    """Write atomically (temp file + rename) so a crash never leaves a half-written cache."""
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"settings": settings, "sha256": graph.sha256, "stats": dict(graph.stats)})
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            arrays: dict[str, Any] = {"meta": np.array(meta), **graph.arrays()}
            np.savez(fh, **arrays)
        Path(tmp_name).replace(target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
