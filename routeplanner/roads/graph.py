"""The drivable road network of an OSM extract as plain numpy arrays, cached on disk by file hash.

Building the graph with osmnx takes seconds to tens of seconds (topology simplification
dominates); loading the same arrays from an uncompressed ``.npz`` takes milliseconds. GraphML
(seconds to load) and pickle (unsafe, tied to library versions) were rejected for the cache.

Travel times are kept as ``float64`` seconds per edge: summing rounded per-edge integers along a
route of hundreds of edges would drift by minutes, so only the final route totals are rounded to
integer seconds (in :mod:`routeplanner.travel.road`). How the times are priced is the road model
(:mod:`routeplanner.roads.model`, built in :mod:`routeplanner.roads.build`); it is part of the
cache key.
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
from typing import Any

import numpy as np
import numpy.typing as npt

from routeplanner.errors import RoadNetworkError, RoutePlannerWarning
from routeplanner.roads.build import build_arrays
from routeplanner.roads.model import RoadModel

#: Bump when the array layout or the way the graph is built changes: old cache files are then
#: ignored instead of being misread.
FORMAT_VERSION = 3

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
    "head_delay_s",
    "road_class",
    "geom_offsets",
    "geom_lat",
    "geom_lon",
    "turn_indptr",
    "turn_to",
    "turn_cost_s",
    "edge_name",
    "street_names",
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

    Under the road model, ``travel_time_s`` is the time to drive the whole edge (signals part
    way included), ``head_delay_s`` the wait at its head node (a signal or sign at the
    junction), ``road_class`` the index into :data:`~routeplanner.roads.model.ROAD_CLASSES`,
    and the turn table (``turn_to[turn_indptr[e]:turn_indptr[e+1]]`` with ``turn_cost_s``)
    the edges a car on edge ``e`` may turn into at its head. The free-flow model has no delays
    and an empty turn table (every turn allowed, free).

    ``street_names[edge_name[e]]`` is the OSM name (else ``ref``) of edge ``e``'s road, for
    labelling maps; ``edge_name[e]`` is -1 for a road with neither.

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
    head_delay_s: FloatArray
    road_class: npt.NDArray[np.int8]
    geom_offsets: IntArray
    geom_lat: FloatArray
    geom_lon: FloatArray
    turn_indptr: IntArray
    turn_to: IntArray
    turn_cost_s: FloatArray
    edge_name: IntArray
    street_names: npt.NDArray[np.str_]
    model: RoadModel = field(default_factory=RoadModel)
    from_cache: bool = False
    load_seconds: float = 0.0
    stats: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, m = len(self.node_ids), len(self.indices)
        if len(self.lat) != n or len(self.lon) != n or len(self.indptr) != n + 1:
            msg = "node arrays and indptr disagree on the number of nodes"
            raise ValueError(msg)
        per_edge = (
            self.travel_time_s,
            self.length_m,
            self.head_delay_s,
            self.road_class,
            self.edge_name,
        )
        if any(len(a) != m for a in per_edge):
            msg = "edge arrays disagree on the number of edges"
            raise ValueError(msg)
        if len(self.turn_indptr) != m + 1 or self.turn_indptr[-1] != len(self.turn_to):
            msg = "turn table offsets do not match the turn arrays"
            raise ValueError(msg)
        if len(self.turn_cost_s) != len(self.turn_to):
            msg = "turn arrays disagree on the number of turns"
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
    def has_turns(self) -> bool:
        """Whether turns are priced (the road model) rather than all free (free-flow)."""
        return len(self.turn_to) > 0

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


def _settings_key(model: RoadModel) -> dict[str, Any]:
    # The installed version from package metadata: importing osmnx itself takes seconds.
    return {
        "format": FORMAT_VERSION,
        "network": "drive",
        "osmnx": metadata.version("osmnx"),
        "model": model.cache_key(),
    }


def cache_file(cache_dir: Path, sha256: str, *, model: RoadModel | None = None) -> Path:
    """Where the prepared graph for this file content and this road model is cached."""
    key = json.dumps(_settings_key(model or RoadModel()), sort_keys=True)
    settings_hash = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir / f"roads-{sha256[:24]}-{settings_hash}-v{FORMAT_VERSION}.npz"


def load_road_graph(
    path: Path,
    *,
    cache_dir: Path | None = None,
    model: RoadModel | None = None,
    progress: Progress | None = None,
) -> RoadGraph:
    """Prepare (or load from cache) the drivable road graph of any OSM extract.

    Parameters
    ----------
    path
        ``.osm.pbf``, ``.osm``, ``.osm.gz`` or ``.osm.bz2``, possibly clipped at a bounding box.
    cache_dir
        Folder for prepared graphs; ``None`` disables caching. The cache key is the SHA-256 of
        the file content plus the road model, the osmnx version and :data:`FORMAT_VERSION`.
    model
        How travel times are priced; the default :class:`RoadModel` when ``None``
        (``RoadModel.free_flow_model()`` for plain free-flow speeds).
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
    model = model or RoadModel()
    if path.is_dir():
        msg = f"{path}: is a folder, not an OSM file"
        raise RoadNetworkError(msg)
    if not path.is_file():
        msg = f"{path}: file not found"
        raise RoadNetworkError(msg)
    report("hashing file", 0.0)
    try:
        sha = file_sha256(path)
    except OSError as exc:
        msg = f"{path}: cannot read file ({exc.strerror or exc})"
        raise RoadNetworkError(msg) from exc
    target = None
    key = _settings_key(model)
    if cache_dir is not None:
        target = cache_file(cache_dir, sha, model=model)
        cached = _read_cache(target, path, sha, key, model)
        if cached is not None:
            report("loaded from cache", 1.0)
            return _with_timing(cached, started, from_cache=True)
    arrays, stats = build_arrays(path, model, report)
    graph = _make_graph(path, sha, arrays, model=model, stats=stats)
    if target is not None:
        report("saving cache", 0.95)
        try:
            _write_cache(target, graph, key)
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
        model=graph.model,
        stats=graph.stats,
        from_cache=from_cache,
        load_seconds=time.perf_counter() - started,
    )


def _make_graph(
    source: Path,
    sha: str,
    arrays: Mapping[str, npt.NDArray[Any]],
    *,
    model: RoadModel,
    stats: Mapping[str, int],
    from_cache: bool = False,
    load_seconds: float = 0.0,
) -> RoadGraph:
    return RoadGraph(
        source=source,
        sha256=sha,
        **{name: arrays[name] for name in _ARRAYS},
        model=model,
        from_cache=from_cache,
        load_seconds=load_seconds,
        stats=dict(stats),
    )


def _read_cache(
    target: Path, source: Path, sha: str, settings: dict[str, Any], model: RoadModel
) -> RoadGraph | None:
    """The cached graph, or None when absent, stale or damaged (then it is simply rebuilt)."""
    if not target.is_file():
        return None
    try:
        with np.load(target, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("settings") != settings or meta.get("sha256") != sha:
                return None
            arrays = {name: np.array(data[name]) for name in _ARRAYS}
        return _make_graph(source, sha, arrays, model=model, stats=meta.get("stats", {}))
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
