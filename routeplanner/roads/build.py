"""OSM file -> packed road graph arrays, under the free-flow or the ``routeplanner`` road model.

The free-flow model is osmnx's: the simplified graph, then ``add_edge_speeds`` (posted limit,
else a speed per class) and ``add_edge_travel_times``. The road model works on the
*unsimplified* graph first, where every OSM node is still a node and every segment belongs to
one way: there a segment knows its direction along the way (for ``maxspeed:forward`` and
directional signals), its own posted limit, and the signal or sign at its end. osmnx's
simplification then sums segment times and delays along each road between junctions, so a
road that changes limit half-way gets the exact sum rather than an average speed. The delay at
a road's last node (the junction) is kept apart, because a trip that ends on the road before
the junction never waits there.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from routeplanner.errors import RoadNetworkError
from routeplanner.roads.model import CLASS_INDEX, CLASS_RANK, RoadModel
from routeplanner.roads.osm_filter import DrivableExtract, NodeControl, extract_drivable
from routeplanner.roads.turns import Network, build_turns, find_twins
from routeplanner.units import EARTH_RADIUS_M

Progress = Callable[[str, float], None]
Arrays = dict[str, npt.NDArray[Any]]
MAX_NAME_CHARS = 80
"""Longer OSM names are cut: a label is for reading on a map, not a database of record."""


def build_arrays(path: Path, model: RoadModel, report: Progress) -> tuple[Arrays, dict[str, int]]:
    """The packed arrays of :class:`~routeplanner.roads.graph.RoadGraph` and build counts."""
    import osmnx as ox  # imported here: osmnx takes seconds to import

    with tempfile.TemporaryDirectory(prefix="rp-osm-") as tmp:
        xml = Path(tmp) / "drivable.osm"
        report("reading OSM file", 0.05)
        extract = extract_drivable(
            path, xml, closed_roads=model.closed_roads and not model.free_flow
        )
        report("building graph", 0.3)
        try:
            graph = ox.graph_from_xml(xml, simplify=model.free_flow, retain_all=False)
        except Exception as exc:  # osmnx raises several unrelated types for bad data
            msg = f"{path}: cannot build a road graph ({exc})"
            raise RoadNetworkError(msg) from exc
    if model.free_flow:
        edges, graph = _free_flow_edges(graph, model, path, extract)
    else:
        edges, graph = _modelled_edges(graph, model, path, extract, report)
    report("packing arrays", 0.9)
    arrays = _pack(graph, edges)
    counts = {
        "ways_read": extract.stats.ways_read,
        "ways_kept": extract.stats.ways_kept,
        "ways_split": extract.stats.ways_split,
        "node_refs_missing": extract.stats.node_refs_missing,
    }
    if not model.free_flow:
        counts.update(_turn_arrays(arrays, edges, model, extract))
        counts["ways_closed"] = extract.stats.ways_closed
        counts.update(_control_counts(extract.controls))
    else:
        m = len(arrays["indices"])
        arrays["turn_indptr"] = np.zeros(m + 1, dtype=np.int64)
        arrays["turn_to"] = np.zeros(0, dtype=np.int64)
        arrays["turn_cost_s"] = np.zeros(0, dtype=np.float64)
    return arrays, counts


def _strongly_connected(graph: Any, path: Path, extract: DrivableExtract) -> Any:
    import osmnx as ox

    graph = ox.truncate.largest_component(graph, strongly=True)
    if graph.number_of_edges() == 0:
        msg = (
            f"{path}: no drivable network (the {extract.stats.ways_kept} drivable way(s) do not"
            " form a connected network that can be driven in both directions)"
        )
        raise RoadNetworkError(msg)
    return graph


def _class_of(highway: object) -> int:
    first = highway[0] if isinstance(highway, list) else highway
    return CLASS_INDEX.get(str(first), CLASS_INDEX["other"])


def _free_flow_edges(
    graph: Any, model: RoadModel, path: Path, extract: DrivableExtract
) -> tuple[list[dict[str, Any]], Any]:
    import osmnx as ox

    graph = _strongly_connected(graph, path, extract)
    # Simplification leaves a road of mixed classes with its classes in set order, which
    # differs between processes; osmnx prices it by the first, so sort them to price it alike.
    for _, _, data in graph.edges(data=True):
        if isinstance(data.get("highway"), list):
            data["highway"] = sorted(data["highway"])
    graph = ox.add_edge_speeds(
        graph, hwy_speeds=dict(model.free_flow_speed_kmh), fallback=model.free_flow_fallback_kmh
    )
    graph = ox.add_edge_travel_times(graph)
    edges = []
    for u, v, data in graph.edges(data=True):
        edges.append(
            {
                "u": u,
                "v": v,
                "time": float(data["travel_time"]),
                "length": float(data["length"]),
                "delay": 0.0,
                "class": _class_of(data.get("highway")),
                "name": street_name(data),
                "ways": frozenset(),
                "geometry": data.get("geometry"),
            }
        )
    return edges, graph


def _modelled_edges(
    graph: Any, model: RoadModel, path: Path, extract: DrivableExtract, report: Progress
) -> tuple[list[dict[str, Any]], Any]:
    import osmnx as ox

    report("pricing road segments", 0.5)
    _price_segments(graph, model, extract)
    segments = graph
    report("simplifying", 0.6)
    graph = ox.simplify_graph(
        graph.copy(),
        track_merged=True,
        edge_attr_aggs={"length": sum, "rp_time": sum, "rp_delay": sum, "rp_class": min},
    )
    graph = _strongly_connected(graph, path, extract)
    edges = []
    for u, v, data in graph.edges(data=True):
        merged = data.get("merged_edges")
        if merged:
            last_u, last_v = merged[-1]
            head = min(d["rp_delay"] for d in segments[last_u][last_v].values())
        else:
            head = float(data["rp_delay"])
        osmids = data["osmid"] if isinstance(data["osmid"], list) else [data["osmid"]]
        edges.append(
            {
                "u": u,
                "v": v,
                "time": float(data["rp_time"]) + float(data["rp_delay"]) - head,
                "length": float(data["length"]),
                "delay": head,
                "class": int(data["rp_class"]),
                "name": street_name(data),
                "ways": frozenset(extract.ways[int(w)].original_id for w in osmids),
                "geometry": data.get("geometry"),
            }
        )
    return edges, graph


def _price_segments(graph: Any, model: RoadModel, extract: DrivableExtract) -> None:
    """Set ``rp_time`` (driving), ``rp_delay`` (signal or sign at its end) and ``rp_class``."""
    urban = _urban_nodes(graph, model)
    ranks_at = _ranks_at_controls(graph, extract)
    for u, v, data in graph.edges(data=True):
        way = extract.ways[int(data["osmid"])]
        klass = way.highway if way.highway in CLASS_INDEX else "other"
        forward = (not data.get("reversed", False)) != way.against_nodes
        posted = way.maxspeed_forward if forward else way.maxspeed_backward
        if posted is not None:
            kmh = posted * model.posted_speed_factor[klass]
        else:
            kmh = model.unposted_speed_kmh[klass]
        if u in urban and v in urban:
            kmh *= model.urban_speed_factor
        data["rp_time"] = float(data["length"]) / (kmh / 3.6)
        data["rp_class"] = CLASS_INDEX[klass]
        control = extract.controls.get(v)
        data["rp_delay"] = 0.0
        if control is not None:
            ranks = ranks_at[v]
            # Where every road has the same rank nobody has the right of way: all are "minor".
            minor = CLASS_RANK[klass] > min(ranks) or len(ranks) == 1
            data["rp_delay"] = _control_delay(control, model, forward=forward, minor=minor)


def _control_delay(control: NodeControl, model: RoadModel, *, forward: bool, minor: bool) -> float:
    """Seconds the control costs traffic arriving this way (a sign binds only the minor road)."""
    if control.direction != "both" and (control.direction == "forward") != forward:
        return 0.0
    kind = control.kind
    if kind in ("signal", "crossing_signal"):
        return model.signal_s if kind == "signal" else model.crossing_signal_s
    if kind in ("stop", "stop_minor", "give_way") and not minor and control.direction == "both":
        # An undirected sign at a junction of unequal roads stops only the minor ones.
        return 0.0
    return model.give_way_s if kind == "give_way" else model.stop_s


def _ranks_at_controls(graph: Any, extract: DrivableExtract) -> dict[int, set[int]]:
    """The class ranks of every road meeting at each controlled node."""
    ranks: dict[int, set[int]] = {}
    for u, v, data in graph.edges(data=True):
        for node in (u, v):
            if node in extract.controls:
                way = extract.ways[int(data["osmid"])]
                ranks.setdefault(node, set()).add(CLASS_RANK.get(way.highway, CLASS_RANK["other"]))
    return ranks


def _urban_nodes(graph: Any, model: RoadModel) -> set[int]:
    """Nodes with at least ``urban_min_junctions`` junctions within ``urban_radius_m``."""
    nodes = list(graph.nodes)
    if not nodes:
        return set()
    neighbours = [len(set(graph.successors(n)) | set(graph.predecessors(n)) - {n}) for n in nodes]
    lat = np.radians([graph.nodes[n]["y"] for n in nodes])
    lon = np.radians([graph.nodes[n]["x"] for n in nodes])
    xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)
    xyz *= EARTH_RADIUS_M
    junction = np.asarray(neighbours) >= 3
    if not junction.any():
        return set()
    tree = cKDTree(xyz[junction])
    counts = np.asarray(tree.query_ball_point(xyz, r=model.urban_radius_m, return_length=True))
    return {
        n for n, c in zip(nodes, counts.tolist(), strict=True) if c >= model.urban_min_junctions
    }


def _control_counts(controls: Mapping[int, NodeControl]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for control in controls.values():
        key = f"controls_{control.kind}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def _turn_arrays(
    arrays: Arrays, edges: list[dict[str, Any]], model: RoadModel, extract: DrivableExtract
) -> dict[str, int]:
    """Add the turn table to ``arrays``; returns its counts."""
    tails = np.repeat(np.arange(len(arrays["node_ids"]), dtype=np.int64), np.diff(arrays["indptr"]))
    net = Network(
        tails=tails,
        heads=arrays["indices"],
        indptr=arrays["indptr"],
        geom_offsets=arrays["geom_offsets"],
        geom_lat=arrays["geom_lat"],
        geom_lon=arrays["geom_lon"],
        node_ids=arrays["node_ids"],
        twin=find_twins(
            tails, arrays["indices"], arrays["geom_offsets"], arrays["geom_lat"], arrays["geom_lon"]
        ),
    )
    ways = [e["ways"] for e in edges]
    table = build_turns(net, model, extract.restrictions, ways)
    arrays["turn_indptr"] = table.indptr
    arrays["turn_to"] = table.to
    arrays["turn_cost_s"] = table.cost_s
    return dict(table.stats)


def _pack(graph: Any, edges: list[dict[str, Any]]) -> Arrays:
    """Edges -> CSR arrays; geometry oriented tail to head with exact node endpoints.

    ``edges`` is put in the packed order in place, so its entries line up with edge ids.
    """
    node_ids = np.array(sorted(graph.nodes), dtype=np.int64)
    index = {int(n): i for i, n in enumerate(node_ids)}
    lat = np.array([graph.nodes[n]["y"] for n in node_ids], dtype=np.float64)
    lon = np.array([graph.nodes[n]["x"] for n in node_ids], dtype=np.float64)
    for edge in edges:
        iu, iv = index[int(edge["u"])], index[int(edge["v"])]
        geom = edge.pop("geometry")
        if geom is None:
            pts = [(lat[iu], lon[iu]), (lat[iv], lon[iv])]
        else:
            pts = [(y, x) for x, y in geom.coords]
            if _sq(pts[0], (lat[iu], lon[iu])) > _sq(pts[-1], (lat[iu], lon[iu])):
                pts.reverse()
            pts[0], pts[-1] = (lat[iu], lon[iu]), (lat[iv], lon[iv])
        edge["iu"], edge["iv"], edge["points"] = iu, iv, pts
    edges.sort(key=lambda r: (r["iu"], r["iv"], r["time"], r["length"]))
    tails = np.array([r["iu"] for r in edges], dtype=np.int64)
    counts = np.bincount(tails, minlength=len(node_ids))
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    sizes = np.array([len(r["points"]) for r in edges], dtype=np.int64)
    coords = np.array([p for r in edges for p in r["points"]], dtype=np.float64).reshape(-1, 2)
    return {
        "node_ids": node_ids,
        "lat": lat,
        "lon": lon,
        "indptr": indptr,
        "indices": np.array([r["iv"] for r in edges], dtype=np.int64),
        "travel_time_s": np.array([r["time"] for r in edges], dtype=np.float64),
        "length_m": np.array([r["length"] for r in edges], dtype=np.float64),
        "head_delay_s": np.array([r["delay"] for r in edges], dtype=np.float64),
        "road_class": np.array([r["class"] for r in edges], dtype=np.int8),
        "geom_offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        "geom_lat": np.ascontiguousarray(coords[:, 0]),
        "geom_lon": np.ascontiguousarray(coords[:, 1]),
        **_names(edges),
    }


def street_name(data: Mapping[str, Any]) -> str:
    """The name a map labels a road with: its ``name`` tag, else its ``ref`` (``B 37``).

    A road merged from several ways can carry several names; the first in sorted order is
    taken so every build labels it alike. A mapper's placeholder (``FIXME``) is no name.
    """
    for key in ("name", "ref"):
        value = data.get(key)
        values = value if isinstance(value, list) else [value]
        found = sorted(
            v.strip()
            for v in values
            if isinstance(v, str) and v.strip() and v.strip().upper() != "FIXME"
        )
        if found:
            return found[0][:MAX_NAME_CHARS]
    return ""


def _names(edges: list[dict[str, Any]]) -> Arrays:
    """``street_names`` (each distinct name once, sorted) and ``edge_name`` (an index into it
    per edge, -1 for an unnamed road)."""
    table = sorted({r["name"] for r in edges if r["name"]})
    index = {name: i for i, name in enumerate(table)}
    return {
        "street_names": np.array(table, dtype=np.str_) if table else np.zeros(0, dtype="<U1"),
        "edge_name": np.array([index.get(r["name"], -1) for r in edges], dtype=np.int64),
    }


def _sq(a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
