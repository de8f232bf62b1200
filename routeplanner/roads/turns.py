"""The turns a car may make at every node, and what each costs: the edge-expanded road graph.

A state of the expanded graph is a directed edge ("about to drive this road"); a turn joins an
edge to one leaving its head node. Its cost depends on the angle between the two roads where
they meet (measured over the last and first :data:`BEARING_M` metres, so a short kink at the
node does not decide it) and on the node: at a junction (three or more roads meet) a turn
costs ``junction_s`` plus a side-dependent cost growing as ``1 - cos(angle)`` (nothing going
straight, the 90° cost at a right angle, twice that turning back); where a road only bends or
changes tags, going on is free. Turning back along the same road is a U-turn: priced at a
dead end, priced higher or forbidden elsewhere. OSM turn restrictions remove turns.

Restrictions and forbidden U-turns can strand a road (a one-way street whose only exit is
restricted in a clipped extract); such turns are given back, node by node, until every edge
can reach every other, so every trip still has a route.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from routeplanner.roads.model import RoadModel
from routeplanner.roads.osm_filter import TurnRestriction
from routeplanner.units import EARTH_RADIUS_M

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

BEARING_M = 10.0
_M_PER_DEG = EARTH_RADIUS_M * np.pi / 180.0


@dataclass(frozen=True, slots=True)
class TurnTable:
    """Allowed turns in CSR form by the edge turned from: ``to[indptr[e]:indptr[e+1]]``."""

    indptr: IntArray
    to: IntArray
    cost_s: FloatArray
    stats: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Network:
    """The packed road graph arrays the turn table is built from."""

    tails: IntArray
    heads: IntArray
    indptr: IntArray
    geom_offsets: IntArray
    geom_lat: FloatArray
    geom_lon: FloatArray
    node_ids: IntArray
    twin: IntArray


def find_twins(
    tails: IntArray,
    heads: IntArray,
    geom_offsets: IntArray,
    geom_lat: FloatArray,
    geom_lon: FloatArray,
) -> IntArray:
    """For each edge, the edge running the same road the other way (or -1).

    osmnx builds a two-way street as two edges with reversed geometry; a point snapped to one
    of them may leave or arrive in either direction. Edges are matched, vectorised, on end
    nodes, vertex count and the second and second-to-last vertices (exact coordinates).
    """
    m = len(tails)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    count = np.diff(geom_offsets)
    second = geom_offsets[:-1] + 1
    penult = geom_offsets[1:] - 2

    def bits(a: FloatArray) -> IntArray:
        return np.ascontiguousarray(a).view(np.int64)

    s_lat, s_lon = bits(geom_lat[second]), bits(geom_lon[second])
    p_lat, p_lon = bits(geom_lat[penult]), bits(geom_lon[penult])
    forward = np.stack([tails, heads, count, s_lat, s_lon, p_lat, p_lon], axis=1)
    backward = np.stack([heads, tails, count, p_lat, p_lon, s_lat, s_lon], axis=1)
    _, group = np.unique(np.concatenate([forward, backward]), axis=0, return_inverse=True)
    group = group.ravel()
    owner = np.full(int(group.max()) + 1, -1, dtype=np.int64)
    owner[group[:m][::-1]] = np.arange(m, dtype=np.int64)[::-1]  # lowest edge per signature
    twin: IntArray = owner[group[m:]]
    twin[(tails == heads) | (twin == np.arange(m))] = -1
    return twin


def end_bearings(net: Network) -> tuple[FloatArray, FloatArray]:
    """Unit ``(x east, y north)`` direction of every edge leaving its tail and reaching its head.

    Each is taken between the node and the geometry vertex at least :data:`BEARING_M` along the
    edge (or its far end), vectorised over all edges with one cumulative distance.
    """
    lat, lon, off = net.geom_lat, net.geom_lon, net.geom_offsets
    cos_lat = np.cos(np.radians(lat))
    step = np.zeros(len(lat))
    dx = np.diff(lon) * cos_lat[:-1] * _M_PER_DEG
    dy = np.diff(lat) * _M_PER_DEG
    step[1:] = np.hypot(dx, dy)
    step[off[:-1]] = 0.0  # no distance across from one edge's geometry to the next
    cum = np.cumsum(step)
    first, last = off[:-1], off[1:] - 1
    reach = np.minimum(BEARING_M, cum[last] - cum[first])
    ahead = np.clip(np.searchsorted(cum, cum[first] + reach, side="left"), first + 1, last)
    behind = np.clip(np.searchsorted(cum, cum[last] - reach, side="right") - 1, first, last - 1)
    leave = _unit(lat, lon, cos_lat, first, ahead)
    arrive = _unit(lat, lon, cos_lat, behind, last)
    return leave, arrive


def _unit(
    lat: FloatArray, lon: FloatArray, cos_lat: FloatArray, a: IntArray, b: IntArray
) -> FloatArray:
    vec = np.stack([(lon[b] - lon[a]) * cos_lat[a], lat[b] - lat[a]], axis=1)
    norm = np.linalg.norm(vec, axis=1)
    unit: FloatArray = vec / np.where(norm > 0, norm, 1.0)[:, None]
    return unit


def node_degrees(net: Network) -> IntArray:
    """Distinct neighbours of every node, roads taken both ways (3+ is a junction, 1 a dead end)."""
    n = len(net.node_ids)
    keep = net.tails != net.heads
    a = np.concatenate([net.tails[keep], net.heads[keep]])
    b = np.concatenate([net.heads[keep], net.tails[keep]])
    pairs = np.unique(a * n + b)
    degree: IntArray = np.bincount(pairs // n, minlength=n).astype(np.int64)
    return degree


def build_turns(
    net: Network,
    model: RoadModel,
    restrictions: Sequence[TurnRestriction] = (),
    edge_ways: Sequence[frozenset[int]] = (),
) -> TurnTable:
    """Every allowed turn with its cost (``edge_ways``: the original OSM way ids of each edge)."""
    frm, to = _all_turns(net)
    leave, arrive = end_bearings(net)
    a, d = arrive[frm], leave[to]
    cos = np.clip(np.einsum("ij,ij->i", a, d), -1.0, 1.0)
    cross = a[:, 0] * d[:, 1] - a[:, 1] * d[:, 0]
    left = cross > 0  # counter-clockwise seen from above
    across = left != model.left_hand_traffic  # crosses oncoming traffic
    degree = node_degrees(net)[net.heads[frm]]
    u_turn = (net.heads[to] == net.tails[frm]) & (net.tails[to] == net.heads[frm])
    u_turn &= net.tails[frm] != net.heads[frm]
    side = np.where(across, model.turn_left_s, model.turn_right_s)
    cost = np.where(degree >= 3, model.junction_s + side * (1.0 - cos), 0.0)
    allowed = np.ones(len(frm), dtype=bool)
    u_cost = model.u_turn_s if model.u_turn_junction_s is None else model.u_turn_junction_s
    cost = np.where(u_turn, np.where(degree <= 1, model.u_turn_s, u_cost), cost)
    if model.u_turn_junction_s is None:
        allowed &= ~u_turn | (degree <= 1)
    stats = {"turns": len(frm), "u_turns_forbidden": int(np.sum(~allowed))}
    if model.turn_restrictions and restrictions:
        banned, placed = _restricted(net, frm, to, restrictions, edge_ways)
        allowed &= ~banned
        stats["restrictions_placed"] = placed
        stats["turns_restricted"] = int(banned.sum())
    allowed, given_back = _keep_connected(len(net.tails), frm, to, allowed)
    stats["turns_given_back"] = given_back
    frm, to, cost = frm[allowed], to[allowed], cost[allowed]
    order = np.lexsort((to, frm))
    frm, to, cost = frm[order], to[order], cost[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(frm, minlength=len(net.tails)))])
    stats["turns_allowed"] = len(frm)
    return TurnTable(indptr.astype(np.int64), to.astype(np.int64), cost.astype(np.float64), stats)


def _all_turns(net: Network) -> tuple[IntArray, IntArray]:
    """Every (edge, next edge) pair meeting at a node, vectorised over the CSR graph."""
    out_start = net.indptr[net.heads]
    out_count = net.indptr[net.heads + 1] - out_start
    frm = np.repeat(np.arange(len(net.tails), dtype=np.int64), out_count)
    first = np.repeat(np.cumsum(out_count) - out_count, out_count)
    to = np.repeat(out_start, out_count) + (np.arange(len(frm)) - first)
    return frm, to.astype(np.int64)


def _restricted(
    net: Network,
    frm: IntArray,
    to: IntArray,
    restrictions: Sequence[TurnRestriction],
    edge_ways: Sequence[frozenset[int]],
) -> tuple[BoolArray, int]:
    """Turns a restriction forbids, and how many restrictions matched an edge pair of ours."""
    index = {int(node): i for i, node in enumerate(net.node_ids.tolist())}
    by_via: dict[int, list[TurnRestriction]] = {}
    for r in restrictions:
        if r.via_node in index:
            by_via.setdefault(index[r.via_node], []).append(r)
    banned = np.zeros(len(frm), dtype=bool)
    if not by_via:
        return banned, 0
    via_of_turn = net.heads[frm]
    candidates = np.flatnonzero(np.isin(via_of_turn, np.fromiter(by_via, dtype=np.int64)))
    placed: set[int] = set()
    for k in candidates.tolist():
        e, g = int(frm[k]), int(to[k])
        for r in by_via[int(via_of_turn[k])]:
            if r.from_way not in edge_ways[e]:
                continue
            onto = r.to_way in edge_ways[g]
            if onto:
                placed.add(id(r))
            if onto != r.only:
                banned[k] = True
    return banned, len(placed)


def _keep_connected(
    states: int, frm: IntArray, to: IntArray, allowed: BoolArray
) -> tuple[BoolArray, int]:
    """Give back forbidden turns touching stranded edges until one strong component remains."""
    allowed = allowed.copy()
    given = 0
    for _ in range(states + 1):
        matrix = csr_matrix(
            (np.ones(int(allowed.sum())), (frm[allowed], to[allowed])), shape=(states, states)
        )
        count, label = connected_components(matrix, directed=True, connection="strong")
        if count == 1:
            break
        main = np.argmax(np.bincount(label))
        stranded = label != main
        back = ~allowed & (stranded[frm] | stranded[to])
        if not back.any():  # cannot happen on a strongly connected road graph: all turns back
            back = ~allowed
        given += int(back.sum())
        allowed |= back
    return allowed, given
