"""Travel times on the real road network: snapping, bulk matrices and leg geometry.

A point lies part-way along a road (see :mod:`routeplanner.roads.snap`), so a trip starts by
driving the rest of that edge to its head node (or back to its tail, where the road is two-way)
and ends by driving part of the destination's edge. Each origin becomes a virtual node wired to
its edge's end nodes with those partial costs, so one multi-source
``scipy.sparse.csgraph.dijkstra`` (``indices=`` the origin nodes; no Python loop over sources)
gives every origin's time to every node; each destination then takes the sooner of arriving
from its edge's tail or (two-way road) head, and two points on the same road may instead drive
straight along it when the road's direction allows.

Distances are those *along the fastest path* (not the shortest distance): they come from the
same Dijkstra's predecessor tree (no second search), summing edge lengths by pointer jumping,
so a duration and a distance in the matrix always describe the same route.

Points farther than ``max_snap_m`` from any drivable road make :meth:`RoadTravel.matrix` and
:meth:`RoadTravel.leg_geometry` raise :class:`~routeplanner.errors.InputError` listing every such
point: callers snap with ids first (:meth:`RoadTravel.snap`) and leave unreachable ones out.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from routeplanner.errors import InputError, InternalError, Problem
from routeplanner.model.geo import GeoPoint
from routeplanner.roads.graph import RoadGraph
from routeplanner.roads.model import ROAD_CLASSES
from routeplanner.roads.snap import DEFAULT_MAX_SNAP_M, EdgeIndex, EdgeSnaps
from routeplanner.roads.turns import find_twins
from routeplanner.travel.expanded import ExpandedGraph
from routeplanner.travel.provider import Snap, SnapReport, TravelMatrix

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_AT_END = 1e-9  # fraction within which a snapped point counts as standing on the node
_MIN_WEIGHT = 1e-9  # csgraph must never see a zero weight it might drop as "no edge"


@dataclass(frozen=True, slots=True)
class _Ends:
    """Per point: the (up to) two nodes to leave by / arrive from, with partial time/length.

    Column 0 is the edge's head (leave) / tail (arrive) along the edge itself; column 1 is the
    other end, usable only through the reverse twin edge or when the point sits on that node.
    Unusable entries have node -1.
    """

    node: IntArray
    time: FloatArray
    length: FloatArray


@dataclass(frozen=True, slots=True)
class _Augmented:
    matrix: csr_matrix
    keys: IntArray
    length: FloatArray
    origin0: int


class RoadTravel:
    """:class:`~routeplanner.travel.provider.TravelTimeProvider` on a :class:`RoadGraph`.

    Holds only derived, per-graph data (the snapping index, the simple routing graph): build
    one per loaded graph, there is no module-level state.
    """

    name: str
    chunk: int
    """Origins per Dijkstra call: bounds the memory of one bulk search."""

    def __init__(
        self, graph: RoadGraph, *, max_snap_m: float = DEFAULT_MAX_SNAP_M, chunk: int = 500
    ) -> None:
        if max_snap_m <= 0:
            msg = f"max_snap_m must be positive, got {max_snap_m}"
            raise ValueError(msg)
        self.name = "road"
        self.graph = graph
        self.max_snap_m = max_snap_m
        self.index = EdgeIndex(graph)
        self.chunk = chunk
        self._twin = find_twins(
            graph.tails, graph.indices, graph.geom_offsets, graph.geom_lat, graph.geom_lon
        )
        self._set_times(np.asarray(graph.travel_time_s, dtype=np.float64))
        self._scaled: dict[tuple[float, ...], RoadTravel] = {}

    def _set_times(self, times: FloatArray) -> None:
        """Edge driving times and everything derived from them (the routing graphs)."""
        graph = self.graph
        self._time: FloatArray = times
        n = graph.nodes
        tails, heads = graph.tails, graph.indices
        # Simple graph for routing: no self-loops, the fastest of parallel edges.
        order = np.lexsort((np.arange(graph.edges), self._time, heads, tails))
        order = order[tails[order] != heads[order]]
        pair = tails[order] * n + heads[order]
        first = np.concatenate([[True], pair[1:] != pair[:-1]]) if len(pair) else pair.astype(bool)
        self._best_edge: IntArray = order[first]
        self._best_keys: IntArray = pair[first]
        self._in_table = self._build_in_table()
        self._expanded = ExpandedGraph(graph, times, self._twin) if graph.has_turns else None

    def with_class_factors(self, factors: Sequence[float]) -> RoadTravel:
        """The same roads with each class's driving time times its factor (a rush hour).

        ``factors[k]`` is for :data:`~routeplanner.roads.model.ROAD_CLASSES` ``[k]``; waits
        and turns keep their prices. The snapping index is shared, not rebuilt.
        """
        scale = np.asarray(factors, dtype=np.float64)
        if scale.shape != (len(ROAD_CLASSES),) or not np.all(np.isfinite(scale) & (scale > 0)):
            msg = f"need {len(ROAD_CLASSES)} positive factors, one per road class"
            raise ValueError(msg)
        key = tuple(scale.tolist())
        known = self._scaled.get(key)
        if known is None:  # a rush hour recurs every day: build its routing graph once
            known = copy.copy(self)
            known._set_times(np.asarray(self.graph.travel_time_s) * scale[self.graph.road_class])
            known._scaled = {}
            self._scaled[key] = known
        return known

    # -- snapping ---------------------------------------------------------------------------

    def snap(self, points: Sequence[tuple[str, GeoPoint]]) -> SnapReport:
        """Snap identified points; farther than ``max_snap_m`` = unreachable, never moved."""
        snaps = self.snap_edges([p for _, p in points])
        out = []
        for i, (point_id, point) in enumerate(points):
            distance = float(snaps.distance_m[i])
            reachable = distance <= self.max_snap_m
            snapped = GeoPoint(float(snaps.lat[i]), float(snaps.lon[i])) if reachable else None
            out.append(Snap(point_id, point, snapped, distance, reachable))
        return SnapReport(tuple(out), self.max_snap_m)

    def snap_edges(self, points: Sequence[GeoPoint]) -> EdgeSnaps:
        """Edge, fraction along it, snapped position and distance for every point."""
        return self.index.query([p.lat for p in points], [p.lon for p in points])

    # -- matrices ---------------------------------------------------------------------------

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint] | None = None
    ) -> TravelMatrix:
        """Fastest-path durations (s) and the distances (m) of those same paths, rounded to int.

        Raises
        ------
        InputError
            Some point is farther than ``max_snap_m`` from any drivable road (all are listed).
        """
        durations, distances = self._solve(origins, destinations, with_distances=True)
        assert distances is not None
        return TravelMatrix(
            np.rint(durations).astype(np.int64), np.rint(distances).astype(np.int64)
        )

    def durations(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint] | None = None
    ) -> npt.NDArray[np.int64]:
        """Only the duration part of :meth:`matrix` (same values), skipping the distance pass."""
        durations, _ = self._solve(origins, destinations, with_distances=False)
        return np.rint(durations).astype(np.int64)

    # -- road cells -------------------------------------------------------------------------

    def cell_adjacency(self, points: Sequence[GeoPoint]) -> IntArray:
        """``(p, 2)`` pairs ``i < j`` of points whose road cells touch (a network Voronoi).

        Every stretch of road belongs to the point it is nearest to by road time (one
        multi-source Dijkstra, roads taken both ways: cells are about "how far apart", not one-way
        streets), and two points are neighbours when a road joins their cells. Points on one
        road split it between them, in order along it, so points along a street form a chain and
        points at one spot are neighbours. Unlike "the k nearest", this is stable: a new point
        only splits the cells around it, so two points stop being neighbours only if the new one
        really lies between them on the road. Snapping ignores ``max_snap_m`` (as the caller
        checks reachability first).
        """
        if len(points) < 2:
            return np.zeros((0, 2), dtype=np.int64)
        a, b, labels = self._cells(points)
        la, lb = labels[a], labels[b]
        touch = (la != lb) & (la >= 0) & (lb >= 0)
        pairs = np.stack([np.minimum(la, lb)[touch], np.maximum(la, lb)[touch]], axis=1)
        result: IntArray = np.unique(pairs, axis=0).astype(np.int64).reshape(-1, 2)
        return result

    def cell_labels(self, points: Sequence[GeoPoint]) -> IntArray:
        """For every node of the road graph, the index of the point whose road cell holds it
        (the same network Voronoi as :meth:`cell_adjacency`), ``-1`` where no point's cell
        reaches (a part of the network not joined to any point's road)."""
        if not points:
            return np.full(self.graph.nodes, -1, dtype=np.int64)
        _, _, labels = self._cells(points)
        return labels[: self.graph.nodes]

    def node_locations(self) -> tuple[FloatArray, FloatArray]:
        """Latitude and longitude of every road graph node (as :meth:`cell_labels` counts)."""
        return self.graph.lat, self.graph.lon

    def _cells(self, points: Sequence[GeoPoint]) -> tuple[IntArray, IntArray, IntArray]:
        """The road graph split at every point (edges ``a``-``b``; point i is node
        ``nodes + i``) and the nearest point of every node of it."""
        n_pts = len(points)
        g = self.graph
        n = g.nodes
        snaps = self.snap_edges(points)
        road, frac = self._road_positions(snaps)
        # One undirected road per edge and its twin (the lower id, as _road_positions names it).
        edges = np.arange(g.edges, dtype=np.int64)
        tw = self._twin
        roads = np.unique(np.where((tw >= 0) & (tw < edges), tw, edges))
        time = self._time
        # Split every road at its points, in order along it: tail - p1 - ... - pk - head.
        order = np.lexsort((np.arange(n_pts), frac, road))
        r_sorted, f_sorted = road[order], frac[order]
        node = n + order
        first = np.concatenate([[True], r_sorted[1:] != r_sorted[:-1]])
        last = np.concatenate([r_sorted[1:] != r_sorted[:-1], [True]])
        prev_node = np.where(first, g.tails[r_sorted], np.roll(node, 1))
        prev_frac = np.where(first, 0.0, np.roll(f_sorted, 1))
        empty = np.setdiff1d(roads, r_sorted)
        a = np.concatenate([prev_node, node[last], g.tails[empty]])
        b = np.concatenate([node, g.indices[r_sorted[last]], g.indices[empty]])
        w = np.concatenate(
            [
                (f_sorted - prev_frac) * time[r_sorted],
                (1.0 - f_sorted[last]) * time[r_sorted[last]],
                time[empty],
            ]
        )
        return a, b, self._nearest_point(a, b, w, n, n_pts)

    @staticmethod
    def _nearest_point(a: IntArray, b: IntArray, w: FloatArray, n: int, n_pts: int) -> IntArray:
        """For every node of the split road graph, the point (0..n_pts-1) nearest by road time."""
        size = n + n_pts
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        keep = lo != hi
        lo, hi, w = lo[keep], hi[keep], w[keep]
        # Keep the fastest of parallel roads: csr_matrix would sum duplicates.
        order = np.lexsort((w, hi, lo))
        keys = lo[order] * size + hi[order]
        sel = order[np.concatenate([[True], keys[1:] != keys[:-1]])]
        matrix = csr_matrix(
            (np.maximum(w[sel], _MIN_WEIGHT), (lo[sel], hi[sel])), shape=(size, size)
        )
        _, _, sources = dijkstra(
            matrix,
            directed=False,
            indices=np.arange(n, size),
            min_only=True,
            return_predecessors=True,
        )
        labels: IntArray = np.where(sources >= n, sources - n, -1).astype(np.int64)
        return labels

    def _solve(
        self,
        origins: Sequence[GeoPoint],
        destinations: Sequence[GeoPoint] | None,
        *,
        with_distances: bool,
    ) -> tuple[FloatArray, FloatArray | None]:
        """Check reachability, then solve once per distinct location and expand.

        Several accounts often share one address (a shopping centre, a rep working from an
        account's site): repeated points cost no extra Dijkstra sources.
        """
        o_unique, o_back = _distinct(origins)
        o_snaps = self.index.query(o_unique[:, 0], o_unique[:, 1])
        groups = [("origins[{i}]", origins, _take_rows(o_snaps, o_back))]
        if destinations is None:
            d_unique, d_back, d_snaps = o_unique, o_back, o_snaps
        else:
            d_unique, d_back = _distinct(destinations)
            d_snaps = self.index.query(d_unique[:, 0], d_unique[:, 1])
            groups.append(("destinations[{i}]", destinations, _take_rows(d_snaps, d_back)))
        self._check_reachable(groups)
        durations, distances = self._solve_snapped(o_snaps, d_snaps, with_distances=with_distances)
        pick = np.ix_(o_back, d_back)
        return durations[pick], None if distances is None else distances[pick]

    def _solve_snapped(
        self, o_snaps: EdgeSnaps, d_snaps: EdgeSnaps, *, with_distances: bool
    ) -> tuple[FloatArray, FloatArray | None]:
        n_o, n_d = len(o_snaps), len(d_snaps)
        durations = np.zeros((n_o, n_d))
        distances = np.zeros((n_o, n_d)) if with_distances else None
        if n_o == 0 or n_d == 0:
            return durations, distances
        if self._expanded is not None:
            return self._solve_turns(self._expanded, o_snaps, d_snaps, with_distances)
        aug = self._augment(o_snaps)
        en = self._entries(d_snaps)
        en_node = np.where(en.node >= 0, en.node, 0)
        en_time = np.where(en.node >= 0, en.time, np.inf)
        di_o, di_d, di_t, di_l = self._direct(o_snaps, d_snaps)
        # Bound the per-chunk arrays (rows x nodes) to ~20 M cells whatever the graph size.
        chunk = max(1, min(self.chunk, 20_000_000 // aug.matrix.shape[0]))
        for start in range(0, n_o, chunk):
            rows = np.arange(start, min(n_o, start + chunk))
            if distances is None:
                dist = dijkstra(aug.matrix, directed=True, indices=aug.origin0 + rows)
            else:
                dist, pred = dijkstra(
                    aug.matrix, directed=True, indices=aug.origin0 + rows, return_predecessors=True
                )
            # Arrive from either end of each destination's edge, whichever is sooner.
            arrive = np.stack([dist[:, en_node[:, k]] + en_time[:, k] for k in (0, 1)], axis=2)
            choice = np.argmin(arrive, axis=2)
            best = np.take_along_axis(arrive, choice[:, :, None], axis=2)[:, :, 0]
            # Straight along a shared road, where that is at least as quick.
            mine = (di_o >= rows[0]) & (di_o <= rows[-1])
            r, c, t = di_o[mine] - rows[0], di_d[mine], di_t[mine]
            direct = t <= best[r, c]
            r, c = r[direct], c[direct]
            best[r, c] = t[direct]
            durations[rows] = best
            if distances is not None:
                lengths = self._tree_lengths(aug, pred)
                cols = np.arange(n_d)[None, :]
                via = np.take_along_axis(lengths, en_node[cols, choice], axis=1)
                block = via + en.length[cols, choice]
                block[r, c] = di_l[mine][direct]
                distances[rows] = block
        if not np.all(np.isfinite(durations)):
            msg = f"{self.graph.source}: road graph is not strongly connected (a pair has no route)"
            raise InternalError(msg)
        return durations, distances

    def _solve_turns(
        self, ex: ExpandedGraph, o_snaps: EdgeSnaps, d_snaps: EdgeSnaps, with_distances: bool
    ) -> tuple[FloatArray, FloatArray | None]:
        """Durations (and lengths) on the edge-expanded graph, turns and waits priced."""
        seeds, targets = ex.seeds(o_snaps), ex.targets(d_snaps)
        durations, distances = ex.solve(seeds, targets, np.arange(len(o_snaps), dtype=np.int64))
        # Straight along a shared road, where that is at least as quick.
        di_o, di_d, di_t, di_l = self._direct(o_snaps, d_snaps)
        direct = di_t <= durations[di_o, di_d]
        durations[di_o[direct], di_d[direct]] = di_t[direct]
        distances[di_o[direct], di_d[direct]] = di_l[direct]
        if not np.all(np.isfinite(durations)):
            msg = f"{self.graph.source}: road graph is not strongly connected (a pair has no route)"
            raise InternalError(msg)
        return durations, distances if with_distances else None

    def leg_geometry(self, origin: GeoPoint, destination: GeoPoint) -> list[GeoPoint]:
        """The fastest route as a polyline along real road geometry.

        Starts at ``origin`` and ends at ``destination``; the second and second-to-last vertices
        are the snapped positions on the road (left out when they coincide with the points).
        """
        snaps = self.snap_edges([origin, destination])
        o, d = _take(snaps, 0), _take(snaps, 1)
        self._check_reachable([("origin", [origin], o), ("destination", [destination], d)])
        if self._expanded is not None:
            road = self._turn_polyline(self._expanded, o, d)
        else:
            road = self._node_polyline(o, d)
        coords = [(origin.lat, origin.lon), *road, (destination.lat, destination.lon)]
        out: list[GeoPoint] = []
        for lat, lon in coords:
            point = GeoPoint(lat, lon)
            if not out or _apart(out[-1], point):
                out.append(point)
        if len(out) > 1:
            out[-1] = destination  # not its snapped twin a rounding error away
        if len(out) == 1:
            out.append(out[0])
        return out

    def _turn_polyline(
        self, ex: ExpandedGraph, o: EdgeSnaps, d: EdgeSnaps
    ) -> list[tuple[float, float]]:
        """The fastest route's road geometry with turns priced (both ends partial edges)."""
        seeds, targets = ex.seeds(o), ex.targets(d)
        best, _ = ex.solve(seeds, targets, np.zeros(1, dtype=np.int64))
        _, _, di_t, _ = self._direct(o, d)
        if len(di_t) and float(di_t[0]) <= float(best[0, 0]):
            return self._direct_polyline(o, d)
        edges, how, start = ex.path(seeds, targets)
        g, idx = self.graph, self.index
        o_edge, d_edge = int(o.edge[0]), int(d.edge[0])
        o_len, d_len = float(idx.edge_len_m[o_edge]), float(idx.edge_len_m[d_edge])
        o_pos = float(o.fraction[0]) * o_len
        d_pos = float(d.fraction[0]) * d_len
        leave_to = o_len if start == 0 else 0.0 if start == 1 else o_pos
        coords = idx.sub_polyline(o_edge, o_pos, leave_to)
        for e in edges:
            coords += g.edge_polyline(e)
        arrive_from = 0.0 if how == 0 else d_len if how == 1 else d_pos
        coords += idx.sub_polyline(d_edge, arrive_from, d_pos)
        return coords

    def _node_polyline(self, o: EdgeSnaps, d: EdgeSnaps) -> list[tuple[float, float]]:
        """The fastest route's road geometry on the node graph (free-flow model)."""
        aug = self._augment(o)
        dist, pred = dijkstra(
            aug.matrix, directed=True, indices=[aug.origin0], return_predecessors=True
        )
        en = self._entries(d)
        options = [
            (float(dist[0, en.node[0, k]] + en.time[0, k]), k) for k in (0, 1) if en.node[0, k] >= 0
        ]
        best_time, arrive_k = min(options)
        _, _, di_t, _ = self._direct(o, d)
        if len(di_t) and float(di_t[0]) <= best_time:
            road = self._direct_polyline(o, d)
        else:
            path = [int(en.node[0, arrive_k])]
            while path[-1] != aug.origin0:
                path.append(int(pred[0, path[-1]]))
            path.reverse()
            road = self._road_polyline(path[1:], o, d, arrive_along=arrive_k == 0)
        return road

    # -- internals --------------------------------------------------------------------------

    def _build_in_table(self) -> tuple[npt.NDArray[np.int32], FloatArray]:
        """Per node, its routing in-edges' tails (sorted, padded with ``n``) and lengths."""
        n = self.graph.nodes
        heads = self.graph.indices[self._best_edge]
        tails = self.graph.tails[self._best_edge]
        order = np.lexsort((tails, heads))
        heads, tails = heads[order], tails[order]
        lengths = self.graph.length_m[self._best_edge][order]
        degree = np.bincount(heads, minlength=n)
        width = max(1, int(degree.max(initial=0)))
        slot = np.arange(len(heads)) - np.repeat(np.cumsum(degree) - degree, degree)
        in_tail = np.full((n, width), n, dtype=np.int32)
        in_len = np.zeros((n, width))
        in_tail[heads, slot] = tails
        in_len[heads, slot] = lengths
        return in_tail, in_len

    def _exits(self, s: EdgeSnaps) -> _Ends:
        g, e, f = self.graph, s.edge, s.fraction
        tw = self._twin[e]
        has_twin = tw >= 0
        tw_safe = np.where(has_twin, tw, e)
        at_tail = f <= _AT_END
        node = np.stack([g.indices[e], np.where(has_twin | at_tail, g.tails[e], -1)], axis=1)
        time = np.stack(
            [(1 - f) * self._time[e], np.where(has_twin, f * self._time[tw_safe], 0.0)],
            axis=1,
        )
        length = np.stack(
            [(1 - f) * g.length_m[e], np.where(has_twin, f * g.length_m[tw_safe], 0.0)], axis=1
        )
        return _Ends(node, time, length)

    def _entries(self, s: EdgeSnaps) -> _Ends:
        g, e, f = self.graph, s.edge, s.fraction
        tw = self._twin[e]
        has_twin = tw >= 0
        tw_safe = np.where(has_twin, tw, e)
        at_head = f >= 1 - _AT_END
        node = np.stack([g.tails[e], np.where(has_twin | at_head, g.indices[e], -1)], axis=1)
        time = np.stack(
            [f * self._time[e], np.where(has_twin, (1 - f) * self._time[tw_safe], 0.0)],
            axis=1,
        )
        length = np.stack(
            [f * g.length_m[e], np.where(has_twin, (1 - f) * g.length_m[tw_safe], 0.0)], axis=1
        )
        return _Ends(node, time, length)

    def _road_positions(self, s: EdgeSnaps) -> tuple[IntArray, FloatArray]:
        """Each point's road (the lower id of an edge and its twin) and fraction along it."""
        tw = self._twin[s.edge]
        road = np.where((tw >= 0) & (tw < s.edge), tw, s.edge)
        return road, np.where(road == s.edge, s.fraction, 1 - s.fraction)

    def _direct(
        self, o: EdgeSnaps, d: EdgeSnaps
    ) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
        """Origin/destination pairs on the same road that can drive straight along it."""
        g = self.graph
        o_road, o_pos = self._road_positions(o)
        d_road, d_pos = self._road_positions(d)
        d_order = np.argsort(d_road, kind="stable")
        lo = np.searchsorted(d_road[d_order], o_road, side="left")
        hi = np.searchsorted(d_road[d_order], o_road, side="right")
        counts = hi - lo
        oi = np.repeat(np.arange(len(o_road)), counts)
        if len(oi) == 0:
            empty = np.zeros(0)
            return oi, oi.copy(), empty, empty
        within = np.arange(len(oi)) - np.repeat(np.cumsum(counts) - counts, counts)
        di = d_order[np.repeat(lo, counts) + within]
        road = o_road[oi]
        delta = d_pos[di] - o_pos[oi]
        forward = delta >= 0
        back_edge = self._twin[road]
        ok = forward | (back_edge >= 0)
        edge = np.where(forward, road, back_edge)[ok]
        frac = np.abs(delta)[ok]
        return oi[ok], di[ok], frac * self._time[edge], frac * g.length_m[edge]

    def _augment(self, o: EdgeSnaps) -> _Augmented:
        """The routing graph plus one virtual node per origin, wired to where it can leave."""
        g = self.graph
        n, n_o = g.nodes, len(o)
        origin0 = n
        size = n + n_o
        ex = self._exits(o)
        ex_ok = ex.node >= 0
        rows = np.concatenate(
            [g.tails[self._best_edge], np.repeat(origin0 + np.arange(n_o), 2)[ex_ok.ravel()]]
        )
        cols = np.concatenate([g.indices[self._best_edge], ex.node[ex_ok]])
        time = np.concatenate([self._time[self._best_edge], ex.time[ex_ok]])
        length = np.concatenate([g.length_m[self._best_edge], ex.length[ex_ok]])
        # Keep the fastest of duplicate (row, col) pairs: csr_matrix would sum them.
        order = np.lexsort((time, cols, rows))
        keys = rows[order] * size + cols[order]
        first = np.concatenate([[True], keys[1:] != keys[:-1]])
        sel = order[first]
        matrix = csr_matrix(
            (np.maximum(time[sel], _MIN_WEIGHT), (rows[sel], cols[sel])), shape=(size, size)
        )
        return _Augmented(matrix, keys[first], length[sel], origin0)

    def _tree_lengths(self, aug: _Augmented, pred: npt.NDArray[np.int32]) -> FloatArray:
        """Length of the tree path from each row's origin to every real node (column n: 0).

        Origin virtual nodes are the roots, so lengths are computed for real nodes only, by
        pointer jumping (``log2(depth)`` vectorised rounds). The length of the tree edge into a
        real node is found among that node's few in-edges (a padded table) instead of a search
        over all edges.
        """
        n = self.graph.nodes
        size = aug.matrix.shape[0]
        rows = len(pred)
        p = pred[:, :n]
        root = n  # sentinel column: origin virtual node or no parent
        real = (p >= 0) & (p < n)
        in_tail, in_len = self._in_table
        step = np.zeros(p.shape)
        for k in range(in_tail.shape[1]):  # a handful of in-edges per node
            match = in_tail[:, k][None, :] == p
            step[match] = np.broadcast_to(in_len[:, k], p.shape)[match]
        virtual = p >= n
        if np.any(virtual):
            r_idx, v_idx = np.nonzero(virtual)
            step[r_idx, v_idx] = aug.length[
                np.searchsorted(aug.keys, p[r_idx, v_idx].astype(np.int64) * size + v_idx)
            ]
        parent = np.concatenate([np.where(real, p, root), np.full((rows, 1), root)], axis=1)
        # Flat indices (row offset added) let np.take gather without per-call index building.
        offsets = np.arange(rows, dtype=np.int64)[:, None] * (n + 1)
        flat_parent = (parent.astype(np.int64) + offsets).ravel()
        flat_root = np.repeat(offsets[:, 0] + root, n + 1)
        flat_len = np.concatenate([step, np.zeros((rows, 1))], axis=1).ravel()
        # Pointer jumping: after k rounds each node holds the length of the 2**k tree edges
        # above it and points 2**k levels up; done when every node points at the root.
        while not np.array_equal(flat_parent, flat_root):
            flat_len += flat_len.take(flat_parent)
            flat_parent = flat_parent.take(flat_parent)
        lengths: FloatArray = flat_len.reshape(rows, n + 1)
        return lengths

    def _direct_polyline(self, o: EdgeSnaps, d: EdgeSnaps) -> list[tuple[float, float]]:
        """Both points on one road, driven straight along it."""
        idx = self.index
        o_edge, d_edge = int(o.edge[0]), int(d.edge[0])
        o_pos = float(o.fraction[0]) * float(idx.edge_len_m[o_edge])
        d_pos = float(d.fraction[0]) * float(idx.edge_len_m[d_edge])
        if d_edge != o_edge:  # destination snapped to the twin: mirror its position
            d_pos = float(idx.edge_len_m[o_edge]) - d_pos
        return idx.sub_polyline(o_edge, o_pos, d_pos)

    def _road_polyline(
        self, nodes: list[int], o: EdgeSnaps, d: EdgeSnaps, *, arrive_along: bool
    ) -> list[tuple[float, float]]:
        """Origin's partial edge, the full edges between ``nodes``, destination's partial edge."""
        g, idx = self.graph, self.index
        o_edge, d_edge = int(o.edge[0]), int(d.edge[0])
        o_pos = float(o.fraction[0]) * float(idx.edge_len_m[o_edge])
        d_pos = float(d.fraction[0]) * float(idx.edge_len_m[d_edge])
        leave_head = self._pick(self._exits(o), nodes[0])
        o_len = float(idx.edge_len_m[o_edge])
        coords = idx.sub_polyline(o_edge, o_pos, o_len if leave_head else 0.0)
        for a, b in itertools.pairwise(nodes):
            k = int(np.searchsorted(self._best_keys, a * g.nodes + b))
            coords += g.edge_polyline(int(self._best_edge[k]))
        d_len = float(idx.edge_len_m[d_edge])
        coords += idx.sub_polyline(d_edge, 0.0 if arrive_along else d_len, d_pos)
        return coords

    @staticmethod
    def _pick(ends: _Ends, node: int) -> bool:
        """Whether the path used column 0 (along the edge) to reach/leave ``node``."""
        ok = [k for k in (0, 1) if int(ends.node[0, k]) == node]
        return min(ok, key=lambda k: float(ends.time[0, k])) == 0

    def _check_reachable(self, groups: Sequence[tuple[str, Sequence[GeoPoint], EdgeSnaps]]) -> None:
        """Raise one InputError listing every point beyond the snap limit.

        ``groups`` holds ``(label, points, snaps)``; a label containing ``{i}`` gets the
        point's position in its list (``origins[3]``).
        """
        problems: list[Problem] = []
        for label, points, snaps in groups:
            for i in np.flatnonzero(snaps.distance_m > self.max_snap_m).tolist():
                p = points[i]
                problems.append(
                    Problem(
                        "travel matrix",
                        None,
                        label.format(i=i),
                        f"point ({p.lat:.5f}, {p.lon:.5f}) is {snaps.distance_m[i]:.0f} m from"
                        f" the nearest drivable road (limit {self.max_snap_m:.0f} m)",
                    )
                )
        if problems:
            raise InputError(problems)


def _distinct(points: Sequence[GeoPoint]) -> tuple[FloatArray, IntArray]:
    """Distinct ``(lat, lon)`` rows and, for each input point, the index of its row."""
    coords = np.array([(p.lat, p.lon) for p in points], dtype=np.float64).reshape(-1, 2)
    unique, back = np.unique(coords, axis=0, return_inverse=True)
    return unique, back.ravel().astype(np.int64)


def _take_rows(s: EdgeSnaps, rows: IntArray) -> EdgeSnaps:
    return EdgeSnaps(
        edge=s.edge[rows],
        fraction=s.fraction[rows],
        lat=s.lat[rows],
        lon=s.lon[rows],
        distance_m=s.distance_m[rows],
    )


def _take(s: EdgeSnaps, i: int) -> EdgeSnaps:
    sl = slice(i, i + 1)
    return EdgeSnaps(
        edge=s.edge[sl],
        fraction=s.fraction[sl],
        lat=s.lat[sl],
        lon=s.lon[sl],
        distance_m=s.distance_m[sl],
    )


def _apart(a: GeoPoint, b: GeoPoint) -> bool:
    return abs(a.lat - b.lat) > 1e-9 or abs(a.lon - b.lon) > 1e-9
