"""Shortest trips on the edge-expanded road graph, where turns and junction waits have a price.

A search state is a directed edge: reaching state ``g`` means standing at ``g``'s tail, having
turned into it. Leaving state ``e`` along turn ``k`` costs driving all of ``e``, the wait at its
head and the turn (``arc_s[k]``). A point part-way along edge ``e`` (fraction ``f``) starts as a
*virtual* copy of ``e`` whose key is ``-f * time(e)``: relaxing its turns then charges exactly
the rest of ``e``, the head wait and the turn, while the real state ``e`` stays reachable for a
trip that loops back onto the same road behind the start. A destination at fraction ``f`` on
``g`` is reached at ``dist[g] + f * time(g)`` (or on the reverse twin), so both partial edges
and the turns at both of their ends are priced. Points on a node (``f`` = 0 or 1) may leave by
any road there and arrive from any road, without a turn.

Each search also carries the driven length of its best path, so durations and distances
describe the same route without a second pass. Searches are compiled with numba and run one
origin after another (one origin per search: the expanded graph is small enough that a binary
heap beats a multi-source library call plus the bookkeeping around it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

from routeplanner.roads.graph import RoadGraph
from routeplanner.roads.snap import EdgeSnaps

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

AT_END = 1e-9  # fraction within which a snapped point counts as standing on the node


@dataclass(frozen=True, slots=True)
class Seeds:
    """Where each origin's search starts: ``state/key/length/virtual[ptr[i]:ptr[i+1]]``.

    ``node[i]`` is the node origin ``i`` stands on (or -1): arriving there costs nothing.
    """

    ptr: IntArray
    state: IntArray
    key: FloatArray
    length: FloatArray
    virtual: npt.NDArray[np.bool_]
    node: IntArray


@dataclass(frozen=True, slots=True)
class Targets:
    """How each destination is reached: from up to two states (-1 = unused) plus an offset,
    or (``node`` >= 0) by arriving at that node from any road."""

    state: IntArray
    add_s: FloatArray
    add_m: FloatArray
    node: IntArray


class ExpandedGraph:
    """The turn table of a :class:`RoadGraph` with per-edge times, ready for searches."""

    def __init__(self, graph: RoadGraph, edge_time_s: FloatArray, twin: IntArray) -> None:
        if not graph.has_turns:
            msg = "the graph has no turn table (free-flow model)"
            raise ValueError(msg)
        self.graph = graph
        self.time = edge_time_s
        self.twin = twin
        self.heads = graph.indices
        self.tails = graph.tails
        owner = np.repeat(np.arange(graph.edges, dtype=np.int64), np.diff(graph.turn_indptr))
        self.arc_s: FloatArray = edge_time_s[owner] + graph.head_delay_s[owner] + graph.turn_cost_s
        self.arc_m: FloatArray = graph.length_m[owner].astype(np.float64)

    # -- seeds and targets ----------------------------------------------------------------

    def seeds(self, s: EdgeSnaps) -> Seeds:
        """Start states of every snapped origin (virtual edge and twin; node roads at ends)."""
        g = self.graph
        states: list[list[int]] = []
        keys: list[list[float]] = []
        lengths: list[list[float]] = []
        virtual: list[list[bool]] = []
        nodes = np.full(len(s), -1, dtype=np.int64)
        for i, (e, f) in enumerate(zip(s.edge.tolist(), s.fraction.tolist(), strict=True)):
            st, ky, ln, vi = [e], [-f * self.time[e]], [-f * g.length_m[e]], [True]
            tw = int(self.twin[e])
            if tw >= 0:
                st.append(tw)
                ky.append(-(1 - f) * self.time[tw])
                ln.append(-(1 - f) * g.length_m[tw])
                vi.append(True)
            at = (
                int(self.tails[e]) if f <= AT_END else int(self.heads[e]) if f >= 1 - AT_END else -1
            )
            if at >= 0:
                nodes[i] = at
                out = range(int(g.indptr[at]), int(g.indptr[at + 1]))
                st += list(out)
                ky += [0.0] * len(out)
                ln += [0.0] * len(out)
                vi += [False] * len(out)
            states.append(st)
            keys.append(ky)
            lengths.append(ln)
            virtual.append(vi)
        sizes = np.array([len(x) for x in states], dtype=np.int64)
        return Seeds(
            ptr=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            state=np.array([x for row in states for x in row], dtype=np.int64),
            key=np.array([x for row in keys for x in row], dtype=np.float64),
            length=np.array([x for row in lengths for x in row], dtype=np.float64),
            virtual=np.array([x for row in virtual for x in row], dtype=np.bool_),
            node=nodes,
        )

    def targets(self, s: EdgeSnaps) -> Targets:
        """Arrival states of every snapped destination (its edge and twin; its node at ends)."""
        g, e, f = self.graph, s.edge, s.fraction
        tw = self.twin[e]
        has_twin = tw >= 0
        tw_safe = np.where(has_twin, tw, e)
        state = np.stack([e, np.where(has_twin, tw, -1)], axis=1).astype(np.int64)
        add_s = np.stack([f * self.time[e], (1 - f) * self.time[tw_safe]], axis=1)
        add_m = np.stack([f * g.length_m[e], (1 - f) * g.length_m[tw_safe]], axis=1)
        node = np.where(
            f <= AT_END, self.tails[e], np.where(f >= 1 - AT_END, self.heads[e], -1)
        ).astype(np.int64)
        return Targets(state, add_s.astype(np.float64), add_m.astype(np.float64), node)

    # -- searches ---------------------------------------------------------------------------

    def solve(
        self, seeds: Seeds, targets: Targets, rows: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """Durations and lengths from the origins ``rows`` to every destination."""
        g = self.graph
        n_rows, n_d = len(rows), len(targets.node)
        out_s = np.empty((n_rows, n_d))
        out_m = np.empty((n_rows, n_d))
        _many(
            g.turn_indptr,
            g.turn_to,
            self.arc_s,
            self.arc_m,
            seeds.ptr,
            seeds.state,
            seeds.key,
            seeds.length,
            seeds.virtual,
            seeds.node,
            rows,
            targets.state,
            targets.add_s,
            targets.add_m,
            targets.node,
            self.time,
            g.length_m,
            self.heads,
            g.nodes,
            out_s,
            out_m,
        )
        return out_s, out_m

    def path(self, seeds: Seeds, targets: Targets) -> tuple[list[int], int, int]:
        """The fastest path from origin 0 to destination 0 as ``(edges, how, start)``.

        ``edges`` are the edges driven in full between the origin's road and the destination's;
        ``how`` is the way the destination is reached (0: along its edge, 1: along the twin,
        2: at its node); ``start`` is 0 when the trip leaves along the origin's edge, 1 along
        its twin, 2 from the node the origin stands on.
        """
        g = self.graph
        m = g.edges
        dist = np.empty(m)
        dlen = np.empty(m)
        pred = np.empty(m, dtype=np.int64)
        _search(
            g.turn_indptr,
            g.turn_to,
            self.arc_s,
            self.arc_m,
            seeds.state,
            seeds.key,
            seeds.length,
            seeds.virtual,
            0,
            len(seeds.state),
            dist,
            dlen,
            pred,
            np.empty(m, dtype=np.bool_),
            np.empty(_heap_capacity(g.turn_indptr, len(seeds.state))),
            np.empty(_heap_capacity(g.turn_indptr, len(seeds.state)), dtype=np.int64),
        )
        options = []
        for k in (0, 1):
            st = int(targets.state[0, k])
            if st >= 0:
                options.append((float(dist[st] + targets.add_s[0, k]), k, st))
        node = int(targets.node[0])
        if node >= 0:
            if int(seeds.node[0]) == node:
                return [], 2, 2
            arrive = dist + self.time
            into = np.flatnonzero(self.heads == node)
            e = int(into[np.argmin(arrive[into])])
            options.append((float(arrive[e]), 2, e))
        _, how, state = min(options)
        edges = [state] if how == 2 else []
        while pred[state] >= 0:
            state = int(pred[state])
            edges.append(state)
        edges.reverse()
        seed = -1 - int(pred[state])
        start = 2 if not seeds.virtual[seed] else 0 if seed == 0 else 1
        return edges, how, start


@njit(cache=True, nogil=True)
def _heap_capacity(t_indptr: IntArray, seeds: int) -> int:
    """Entries a search can push: one per turn relaxed from a settled state, one per seed, and
    the turns of every seed once more (a virtual seed relaxes its edge's turns too)."""
    most_turns = np.max(t_indptr[1:] - t_indptr[:-1]) if len(t_indptr) > 1 else 0
    return int(t_indptr[-1] + seeds * (1 + most_turns) + 1)


@njit(cache=True, nogil=True)
def _push(heap_key: FloatArray, heap_item: IntArray, size: int, key: float, item: int) -> int:
    i = size
    heap_key[i] = key
    heap_item[i] = item
    while i > 0:
        parent = (i - 1) >> 1
        if heap_key[parent] <= heap_key[i]:
            break
        heap_key[i], heap_key[parent] = heap_key[parent], heap_key[i]
        heap_item[i], heap_item[parent] = heap_item[parent], heap_item[i]
        i = parent
    return size + 1


@njit(cache=True, nogil=True)
def _pop(heap_key: FloatArray, heap_item: IntArray, size: int) -> int:
    """Move the smallest entry to the end (index ``size - 1``) and restore the heap."""
    last = size - 1
    heap_key[0], heap_key[last] = heap_key[last], heap_key[0]
    heap_item[0], heap_item[last] = heap_item[last], heap_item[0]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= last:
            break
        child = left
        if left + 1 < last and heap_key[left + 1] < heap_key[left]:
            child = left + 1
        if heap_key[i] <= heap_key[child]:
            break
        heap_key[i], heap_key[child] = heap_key[child], heap_key[i]
        heap_item[i], heap_item[child] = heap_item[child], heap_item[i]
        i = child
    return last


@njit(cache=True, nogil=True)
def _search(
    t_indptr: IntArray,
    t_to: IntArray,
    arc_s: FloatArray,
    arc_m: FloatArray,
    seed_state: IntArray,
    seed_key: FloatArray,
    seed_len: FloatArray,
    seed_virtual: npt.NDArray[np.bool_],
    first: int,
    stop: int,
    dist: FloatArray,
    dlen: FloatArray,
    pred: IntArray,
    done: npt.NDArray[np.bool_],
    heap_key: FloatArray,
    heap_item: IntArray,
) -> None:
    """One search from seeds ``first:stop``; ``pred`` is -1 - seed index at a seeded state.

    ``done`` (one per state) and the heap arrays (at least turns + seeds long) are work space,
    passed in so that many searches share one allocation.
    """
    dist[:] = np.inf
    dlen[:] = 0.0
    pred[:] = -1
    done[:] = False
    size = 0
    for k in range(first, stop):
        s = seed_state[k]
        if seed_virtual[k]:
            size = _push(heap_key, heap_item, size, seed_key[k], -1 - k)
        elif seed_key[k] < dist[s]:
            dist[s] = seed_key[k]
            dlen[s] = seed_len[k]
            pred[s] = -1 - k
            size = _push(heap_key, heap_item, size, seed_key[k], s)
    while size > 0:
        size = _pop(heap_key, heap_item, size)
        key = heap_key[size]
        item = heap_item[size]
        if item < 0:  # a virtual seed: the rest of its edge, not the state itself
            k = -1 - item
            s = seed_state[k]
            base_len = seed_len[k]
            via = -1 - k
        else:
            s = item
            if done[s] or key > dist[s]:
                continue
            done[s] = True
            base_len = dlen[s]
            via = s
        for a in range(t_indptr[s], t_indptr[s + 1]):
            g = t_to[a]
            nd = key + arc_s[a]
            if nd < dist[g]:
                dist[g] = nd
                dlen[g] = base_len + arc_m[a]
                pred[g] = via
                size = _push(heap_key, heap_item, size, nd, g)


@njit(cache=True, nogil=True)
def _many(
    t_indptr: IntArray,
    t_to: IntArray,
    arc_s: FloatArray,
    arc_m: FloatArray,
    seed_ptr: IntArray,
    seed_state: IntArray,
    seed_key: FloatArray,
    seed_len: FloatArray,
    seed_virtual: npt.NDArray[np.bool_],
    seed_node: IntArray,
    rows: IntArray,
    tgt_state: IntArray,
    tgt_add_s: FloatArray,
    tgt_add_m: FloatArray,
    tgt_node: IntArray,
    edge_s: FloatArray,
    edge_m: FloatArray,
    heads: IntArray,
    n_nodes: int,
    out_s: FloatArray,
    out_m: FloatArray,
) -> None:
    m = len(edge_s)
    dist = np.empty(m)
    dlen = np.empty(m)
    pred = np.empty(m, dtype=np.int64)
    done = np.empty(m, dtype=np.bool_)
    most_seeds = np.max(seed_ptr[1:] - seed_ptr[:-1]) if len(seed_ptr) > 1 else 0
    capacity = _heap_capacity(t_indptr, most_seeds)
    heap_key = np.empty(capacity)
    heap_item = np.empty(capacity, dtype=np.int64)
    node_s = np.empty(n_nodes)
    node_m = np.empty(n_nodes)
    need_nodes = False
    for j in range(len(tgt_node)):
        if tgt_node[j] >= 0:
            need_nodes = True
    for r in range(len(rows)):
        i = rows[r]
        _search(
            t_indptr,
            t_to,
            arc_s,
            arc_m,
            seed_state,
            seed_key,
            seed_len,
            seed_virtual,
            seed_ptr[i],
            seed_ptr[i + 1],
            dist,
            dlen,
            pred,
            done,
            heap_key,
            heap_item,
        )
        if need_nodes:
            node_s[:] = np.inf
            node_m[:] = 0.0
            for e in range(m):
                t = dist[e] + edge_s[e]
                if t < node_s[heads[e]]:
                    node_s[heads[e]] = t
                    node_m[heads[e]] = dlen[e] + edge_m[e]
            if seed_node[i] >= 0:
                node_s[seed_node[i]] = 0.0
                node_m[seed_node[i]] = 0.0
        for j in range(len(tgt_node)):
            best = np.inf
            best_m = 0.0
            for k in range(2):
                s = tgt_state[j, k]
                if s >= 0:
                    t = dist[s] + tgt_add_s[j, k]
                    if t < best:
                        best = t
                        best_m = dlen[s] + tgt_add_m[j, k]
            v = tgt_node[j]
            if v >= 0 and node_s[v] < best:
                best = node_s[v]
                best_m = node_m[v]
            out_s[r, j] = best
            out_m[r, j] = best_m
