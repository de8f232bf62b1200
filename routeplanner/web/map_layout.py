"""Layout for the day map: street names along the main roads and markers spread apart.

Both work in *screen pixels at the first view* (the map drawn about 400 px wide): a label or a
marker is meant to be read or tapped on a phone, so its size is fixed on screen and the day
page's script keeps it so while the rep zooms (it rescales them, see ``day.js``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from routeplanner.roads.graph import RoadGraph
from routeplanner.roads.model import CLASS_INDEX

FIRST_VIEW_PX = 400
"""The map's width on screen the first view is laid out for (a phone in portrait)."""
MARKER_RADIUS_PX = 14
MARKER_GAP_PX = 8
LABEL_FONT_PX = 11
MAX_LABELS = 14
MAIN_ROAD_CLASSES = frozenset(
    CLASS_INDEX[c] for c in ("motorway", "trunk", "primary", "secondary", "tertiary")
)
"""Roads whose names the map shows: a handful of main roads orient a rep, every lane would be
noise (and bytes)."""

Point = tuple[float, float]
Project = Callable[[float, float], Point]


@dataclass(frozen=True, slots=True)
class StreetLabel:
    """A street name and the polyline (map units, left to right) it is written along."""

    name: str
    points: tuple[tuple[int, int], ...]


def spread_markers(positions: Sequence[Point], units_per_px: float) -> list[Point]:
    """Offsets in screen pixels that move markers drawn at ``positions`` (map units) apart.

    Markers closer than two radii plus a gap form a group (transitively); a group's markers
    are set on a ring around its centre, in the order of their angles about it, so each can be
    tapped and zooming in only moves them further apart. A lone marker keeps offset (0, 0).
    """
    px = [(x / units_per_px, y / units_per_px) for x, y in positions]
    reach = 2 * MARKER_RADIUS_PX + MARKER_GAP_PX
    parent = list(range(len(px)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(px)):
        for j in range(i):
            if math.dist(px[i], px[j]) < reach:
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(px)):
        groups.setdefault(root(i), []).append(i)
    offsets: list[Point] = [(0.0, 0.0)] * len(px)
    for members in groups.values():
        if len(members) < 2:
            continue
        cx = sum(px[i][0] for i in members) / len(members)
        cy = sum(px[i][1] for i in members) / len(members)
        angles = {i: math.atan2(px[i][1] - cy, px[i][0] - cx) for i in members}
        order = sorted(members, key=lambda i: (angles[i], i))
        first = angles[order[0]] if math.dist(px[order[0]], (cx, cy)) > 0.5 else -math.pi / 2
        ring = max(reach / 2 + 4, (reach / 2) / math.sin(math.pi / len(members)))
        for k, i in enumerate(order):
            theta = first + 2 * math.pi * k / len(members)
            tx, ty = cx + ring * math.cos(theta), cy + ring * math.sin(theta)
            offsets[i] = (round(tx - px[i][0], 1), round(ty - px[i][1], 1))
    return offsets


def street_labels(
    graph: RoadGraph, project: Project, width: int, height: int, units_per_px: float
) -> list[StreetLabel]:
    """Names of the main roads in view, each along the longest stretch of it in view that is
    long enough to hold the name; at most :data:`MAX_LABELS`, longest first, no two centred
    close together."""
    chains = _named_chains(graph, project, width, height)
    font = LABEL_FONT_PX * units_per_px
    chosen: list[StreetLabel] = []
    centres: list[Point] = []
    taken: set[str] = set()
    for length, name, pts in sorted(chains, key=lambda c: (-c[0], c[1])):
        if name in taken or length < (len(name) + 2) * 0.6 * font:
            continue
        centre = pts[len(pts) // 2]
        if any(math.dist(centre, c) < 6 * font for c in centres):
            continue
        if pts[-1][0] < pts[0][0]:  # written left to right, never upside down
            pts = pts[::-1]
        chosen.append(StreetLabel(name, _thin(pts, font / 3)))
        centres.append(centre)
        taken.add(name)
        if len(chosen) == MAX_LABELS:
            break
    return chosen


def _named_chains(
    graph: RoadGraph, project: Project, width: int, height: int
) -> list[tuple[float, str, list[Point]]]:
    """Runs of consecutive edges of one named main road inside the frame, one direction
    each: ``(length in map units, name, polyline)``."""
    main = np.isin(graph.road_class, list(MAIN_ROAD_CLASSES)) & (graph.edge_name >= 0)
    tails, heads = graph.tails, graph.indices
    edges = np.flatnonzero(main & (tails < heads))
    lines: dict[int, list[Point]] = {}
    for e in edges.tolist():
        pts = [project(lat, lon) for lat, lon in graph.edge_polyline(e)]
        if all(0 <= x <= width and 0 <= y <= height for x, y in pts):
            lines[e] = pts
    by_node: dict[tuple[int, int], list[int]] = {}
    for e in lines:
        name = int(graph.edge_name[e])
        by_node.setdefault((int(tails[e]), name), []).append(e)
        by_node.setdefault((int(heads[e]), name), []).append(e)
    used: set[int] = set()
    chains = []
    for e in lines:
        if e in used:
            continue
        name = int(graph.edge_name[e])
        used.add(e)
        pts = list(lines[e])
        for end in (int(heads[e]), int(tails[e])):
            pts = _extend(pts, end, name, by_node, lines, used, tails, heads)
            pts.reverse()
        length = sum(math.dist(a, b) for a, b in itertools.pairwise(pts))
        chains.append((length, str(graph.street_names[name]), pts))
    return chains


def _extend(
    pts: list[Point],
    node: int,
    name: int,
    by_node: dict[tuple[int, int], list[int]],
    lines: dict[int, list[Point]],
    used: set[int],
    tails: np.ndarray,
    heads: np.ndarray,
) -> list[Point]:
    """``pts`` grown at its end through unused edges of the same road, node by node."""
    while True:
        nxt = next((e for e in by_node.get((node, name), ()) if e not in used), None)
        if nxt is None:
            return pts
        used.add(nxt)
        seg = lines[nxt]
        if int(tails[nxt]) == node:
            pts.extend(seg[1:])
            node = int(heads[nxt])
        else:
            pts.extend(seg[-2::-1])
            node = int(tails[nxt])


def _thin(pts: Sequence[Point], tolerance: float) -> tuple[tuple[int, int], ...]:
    """Drop vertices closer than ``tolerance`` to the last kept one (the ends stay)."""
    kept = [pts[0]]
    for p in pts[1:-1]:
        if math.dist(p, kept[-1]) >= tolerance:
            kept.append(p)
    kept.append(pts[-1])
    return tuple((round(x), round(y)) for x, y in kept)
