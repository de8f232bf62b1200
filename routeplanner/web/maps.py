"""Offline SVG maps: route lines on real road geometry over a light road-network background.

Nothing here fetches tiles: the background is drawn from our own graph, so the map works with no
internet at all. Coordinates are projected equirectangularly (x scaled by cos(latitude)), which
is exact enough at the scale of one rep's day (tens of km).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from routeplanner.model import GeoPoint
from routeplanner.roads.graph import RoadGraph
from routeplanner.services.territories import TerritoryShape
from routeplanner.web.map_layout import (
    FIRST_VIEW_PX,
    LABEL_FONT_PX,
    MAIN_ROAD_CLASSES,
    MARKER_RADIUS_PX,
    spread_markers,
    street_labels,
)

WIDTH = 1000
MAX_BACKGROUND_EDGES = 6000
"""Cap on background road segments: keeps a phone page small (about 60 kB of SVG at most)."""


MARKER_FILLS = {"home": "#1b1f24", "stop done": "#6b7280"}
"""Marker colours by kind (a stop otherwise red; a finished stop grey), each dark enough for its
white number to reach the 4.5:1 contrast of WCAG 1.4.3."""


@dataclass(frozen=True, slots=True)
class MapMarker:
    """A numbered stop (or the rep's home, label ``H``) on the map."""

    point: GeoPoint
    label: str
    title: str
    kind: str = "stop"


@dataclass(frozen=True, slots=True)
class _Frame:
    min_lon: float
    max_lat: float
    scale: float
    kx: float
    height: int

    def xy(self, lat: float, lon: float) -> tuple[int, int]:
        x = (lon - self.min_lon) * self.kx * self.scale
        y = (self.max_lat - lat) * self.scale
        return round(x), round(y)


def _frame(
    points: Sequence[tuple[float, float]],
    margin: float = 0.08,
    aspect: tuple[float, float] | None = None,
) -> _Frame:
    """The frame around ``points``; with ``aspect`` (lowest, highest height/width) the shorter
    side is widened about the centre so the map keeps a shape that fits a screen."""
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    kx = math.cos(math.radians(sum(lats) / len(lats)))
    span_lat = max(max(lats) - min(lats), 0.004)
    span_lon = max(max(lons) - min(lons), 0.004 / max(kx, 0.1))
    mid_lat, mid_lon = (max(lats) + min(lats)) / 2, (max(lons) + min(lons)) / 2
    span_lat, span_lon = span_lat * (1 + 2 * margin), span_lon * (1 + 2 * margin)
    if aspect is not None:
        low, high = aspect
        ratio = span_lat / (span_lon * kx)
        if ratio > high:
            span_lon = span_lat / (high * kx)
        elif ratio < low:
            span_lat = span_lon * kx * low
    min_lon = mid_lon - span_lon / 2
    max_lat = mid_lat + span_lat / 2
    scale = WIDTH / (span_lon * kx)
    height = max(200, round(span_lat * scale))
    return _Frame(min_lon, max_lat, scale, kx, height)


def _background(graph: RoadGraph, frame: _Frame, classes: Collection[int] | None = None) -> str:
    """One path with every road touching the frame, drawn along its real geometry.

    Two-way roads are stored as two directed edges with the same geometry; one of each pair
    is drawn. When the frame holds more than :data:`MAX_BACKGROUND_EDGES` roads, the longest are
    kept: they carry the shape of the network at this zoom. ``classes`` limits the roads to
    those road classes.
    """
    x = (graph.geom_lon - frame.min_lon) * frame.kx * frame.scale
    y = (frame.max_lat - graph.geom_lat) * frame.scale
    offsets = graph.geom_offsets
    inside = (x >= 0) & (x <= WIDTH) & (y >= 0) & (y <= frame.height)
    # an edge is drawn when any of its vertices lies inside the frame
    hits = np.add.reduceat(inside.astype(np.int64), offsets[:-1]) > 0
    tails, heads = graph.tails, graph.indices
    first_of_pair = (tails <= heads) | ~np.isin(
        heads * graph.nodes + tails, tails * graph.nodes + heads
    )
    wanted = hits & first_of_pair
    if classes is not None:
        wanted &= np.isin(graph.road_class, list(classes))
    idx = np.flatnonzero(wanted)
    if len(idx) > MAX_BACKGROUND_EDGES:
        idx = idx[np.argsort(-graph.length_m[idx])[:MAX_BACKGROUND_EDGES]]
    xi, yi = np.rint(x).astype(np.int64), np.rint(y).astype(np.int64)
    parts: list[str] = []
    for e in idx.tolist():
        a, b = int(offsets[e]), int(offsets[e + 1])
        pts = [f"{xi[k]} {yi[k]}" for k in range(a, b)]
        parts.append("M" + "L".join(pts))
    return "".join(parts)


def _tile_xy(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    """Fractional Web-Mercator (slippy map) tile coordinates of a point."""
    n = 2**zoom
    rad = math.radians(lat)
    return (lon + 180.0) / 360.0 * n, (1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n


def _tile_lat(y: float, zoom: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / 2**zoom))))


def _tiles(frame: _Frame, tile_url: str) -> str:
    """``<image>`` elements for the configured tile server, placed in our projection.

    Tiles are Web Mercator while the map is equirectangular; over one rep's day (a few tens of
    km) the two differ by well under a pixel per tile, so each tile is simply stretched to its
    corner coordinates. Only used when ``RP_TILE_URL`` is set: the default map fetches nothing.
    """
    max_lon = frame.min_lon + WIDTH / (frame.kx * frame.scale)
    min_lat = frame.max_lat - frame.height / frame.scale
    # the deepest zoom at which a tile is still at least 256 of our units wide
    zoom = int(max(0, min(19, math.floor(math.log2(360.0 * frame.kx * frame.scale / 256.0)))))
    x0, y0 = _tile_xy(frame.max_lat, frame.min_lon, zoom)
    x1, y1 = _tile_xy(min_lat, max_lon, zoom)
    out = []
    for tx in range(math.floor(x0), math.floor(x1) + 1):
        for ty in range(math.floor(y0), math.floor(y1) + 1):
            left = tx / 2**zoom * 360.0 - 180.0
            right = (tx + 1) / 2**zoom * 360.0 - 180.0
            top, bottom = _tile_lat(ty, zoom), _tile_lat(ty + 1, zoom)
            ax, ay = frame.xy(top, left)
            bx, by = frame.xy(bottom, right)
            href = tile_url.format(z=zoom, x=tx, y=ty)
            out.append(
                f'<image href="{_esc(href)}" x="{ax}" y="{ay}" width="{bx - ax}" '
                f'height="{by - ay}" preserveAspectRatio="none"/>'
            )
    return "".join(out)


DAY_MAP_ASPECT = (0.6, 1.0)
"""Height/width of the day map: between landscape and square, so it fits a phone's screen
with the stop list still in sight, whatever the shape of the day."""


def route_svg(
    markers: Sequence[MapMarker],
    legs: Sequence[Sequence[GeoPoint]],
    graph: RoadGraph | None,
    *,
    tile_url: str = "",
) -> str:
    """An SVG of one day to pan and zoom: road background with the main roads' names, the
    driven legs and numbered stops that link to their card (``#stop-N``).

    Markers and labels are sized in screen pixels (``data-at`` holds a marker's place, the
    day page's script rescales them on zoom); markers at nearly the same place are spread
    apart. With ``tile_url`` (a ``{z}/{x}/{y}`` template) raster tiles are drawn under our own
    roads; without it the map is drawn from our graph alone and works offline.
    """
    coords = [(m.point.lat, m.point.lon) for m in markers]
    coords += [(p.lat, p.lon) for leg in legs for p in leg]
    if not coords:
        return ""
    frame = _frame(coords, aspect=DAY_MAP_ASPECT)
    k = WIDTH / FIRST_VIEW_PX
    out = [
        f'<svg class="map day-map" viewBox="0 0 {WIDTH} {frame.height}" role="group" '
        f'aria-label="Map of the route" data-zoom="1" xmlns="http://www.w3.org/2000/svg">'
    ]
    if tile_url:
        out.append(_tiles(frame, tile_url))
    if graph is not None:
        out.append(_roads(graph, frame, k))
    for leg in legs:
        pts = " ".join("{},{}".format(*frame.xy(p.lat, p.lon)) for p in leg)
        out.append(
            f'<polyline class="leg" points="{pts}" fill="none" stroke="#0b5fff" stroke-width="4" '
            'stroke-linejoin="round" stroke-linecap="round" stroke-opacity="0.75" '
            'vector-effect="non-scaling-stroke"/>'
        )
    places = [frame.xy(m.point.lat, m.point.lon) for m in markers]
    offsets = spread_markers(places, k)
    for m, (x, y), (dx, dy) in zip(markers, places, offsets, strict=True):
        out.append(_marker(m, x, y, dx, dy, k))
    out.append("</svg>")
    return "".join(out)


def _roads(graph: RoadGraph, frame: _Frame, k: float) -> str:
    """Minor roads thin, main roads wider, and the main roads' names along them."""
    main = _background(graph, frame, MAIN_ROAD_CLASSES)
    minor = _background(graph, frame, set(range(256)) - MAIN_ROAD_CLASSES)
    out = [
        f'<path class="roads" d="{minor}" fill="none" stroke="#cfd4db" stroke-width="1" '
        'stroke-linejoin="round" vector-effect="non-scaling-stroke"/>',
        f'<path class="roads main" d="{main}" fill="none" stroke="#aab3bf" stroke-width="2.5" '
        'stroke-linejoin="round" vector-effect="non-scaling-stroke"/>',
    ]
    labels = street_labels(graph, frame.xy, WIDTH, frame.height, k)
    if labels:
        out.append("<defs>")
        for i, label in enumerate(labels):
            d = "M" + "L".join(f"{x} {y}" for x, y in label.points)
            out.append(f'<path id="st{i}" d="{d}"/>')
        out.append(
            f'</defs><g class="streets" font-size="{LABEL_FONT_PX * k:.1f}" '
            'font-family="sans-serif" fill="#3c4650" stroke="#fff" stroke-width="3" '
            'paint-order="stroke" stroke-linejoin="round" text-anchor="middle" '
            'dominant-baseline="central">'
        )
        for i, label in enumerate(labels):
            out.append(
                f'<text><textPath href="#st{i}" startOffset="50%">{_esc(label.name)}'
                "</textPath></text>"
            )
        out.append("</g>")
    return "".join(out)


def _marker(m: MapMarker, x: int, y: int, dx: float, dy: float, k: float) -> str:
    """One marker drawn in screen pixels around ``(x, y)``, moved by ``(dx, dy)`` pixels with a
    leader line to its true place; a stop links to its card, the home is a plain group."""
    r = MARKER_RADIUS_PX
    fill = MARKER_FILLS.get(m.kind, "#b3261e")
    inner = [f"<title>{_esc(m.title)}</title>"]
    if dx or dy:
        inner.append(
            f'<line x2="{dx:g}" y2="{dy:g}" stroke="#1b1f24" stroke-width="1.5"/>'
            '<circle r="2.5" fill="#1b1f24"/>'
        )
    shift = f' transform="translate({dx:g} {dy:g})"' if dx or dy else ""
    inner.append(
        f'<g{shift}><circle class="hit" r="22" fill="#fff" fill-opacity="0"/>'
        f'<circle class="face" r="{r}" fill="{fill}" stroke="#fff" stroke-width="2.5"/>'
        f'<text y="5" text-anchor="middle" font-size="14" fill="#fff" '
        f'font-family="sans-serif">{_esc(m.label)}</text></g>'
    )
    place = f'data-at="{x} {y}" transform="translate({x} {y}) scale({k:g})"'
    body = "".join(inner)
    if m.kind == "home":
        return f'<g class="marker home" {place}>{body}</g>'
    label = _esc(m.label)
    return f'<a class="marker {m.kind}" href="#stop-{label}" data-stop="{label}" {place}>{body}</a>'


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


TERRITORY_COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#393b79",
    "#637939",
)
"""Distinct colours for territories (Tableau-like; readable on the light road background)."""


def territory_colour(index: int) -> str:
    """The colour of the ``index``-th territory; the table legend uses the same function."""
    return TERRITORY_COLOURS[index % len(TERRITORY_COLOURS)]


@dataclass(frozen=True, slots=True)
class TerritoryLayer:
    """One territory on the map: its accounts (id, name, place), its rep's home and colour,
    and its area (which no other territory's area overlaps)."""

    territory_id: str
    colour: str
    accounts: Sequence[tuple[str, str, GeoPoint]]
    home: GeoPoint | None = None
    home_title: str = ""
    area: TerritoryShape | None = None


def _area_path(area: TerritoryShape, frame: _Frame) -> str:
    """SVG path data of an area: every ring a closed subpath (holes cut by even-odd)."""
    parts = []
    for polygon in area.polygons:
        for ring in polygon:
            pts = ["{} {}".format(*frame.xy(lat, lon)) for lon, lat in ring[:-1]]
            parts.append("M" + "L".join(pts) + "Z")
    return "".join(parts)


def territory_svg(
    layers: Sequence[TerritoryLayer],
    graph: RoadGraph | None,
    *,
    areas: bool = True,
    unassigned: Sequence[tuple[str, str, GeoPoint]] = (),
    tile_url: str = "",
    selected: frozenset[str] = frozenset(),
) -> str:
    """An inline SVG of territories: roads as background, accounts coloured by territory.

    Territory areas are drawn translucent under the points (they never overlap; an account
    drawn in another territory's colour inside an area is an enclave); rep homes are squares
    marked ``H``; accounts in no territory are hollow grey circles; ``selected`` accounts get
    a dark ring. Every account carries ``data-account`` (its id), which the page's script
    uses to select accounts on the map. Works offline like :func:`route_svg`.
    """
    coords = [(p.lat, p.lon) for layer in layers for _, _, p in layer.accounts]
    coords += [(layer.home.lat, layer.home.lon) for layer in layers if layer.home is not None]
    coords += [(p.lat, p.lon) for _, _, p in unassigned]
    if not coords:
        return ""
    frame = _frame(coords)
    out = [
        f'<svg class="map territory-map" viewBox="0 0 {WIDTH} {frame.height}" role="img" '
        f'aria-label="Map of the territories" xmlns="http://www.w3.org/2000/svg">'
    ]
    if tile_url:
        out.append(_tiles(frame, tile_url))
    if graph is not None:
        out.append(
            f'<path class="roads" d="{_background(graph, frame)}" fill="none" '
            'stroke="#c3c9d2" stroke-width="2" stroke-linejoin="round"/>'
        )
    if areas:
        for layer in layers:
            if layer.area is None:
                continue
            out.append(
                f'<path class="area" data-territory="{_esc(layer.territory_id)}" '
                f'd="{_area_path(layer.area, frame)}" fill="{layer.colour}" fill-opacity="0.16" '
                f'fill-rule="evenodd" stroke="{layer.colour}" stroke-width="3" '
                'stroke-opacity="0.7" stroke-linejoin="round"/>'
            )
    for account_id, name, p in unassigned:
        x, y = frame.xy(p.lat, p.lon)
        mark = " selected" if account_id in selected else ""
        out.append(
            f'<circle class="account unassigned{mark}" data-account="{_esc(account_id)}" '
            f'cx="{x}" cy="{y}" r="9" fill="#fff" stroke="#7f7f7f" stroke-width="4">'
            f"<title>{_esc(account_id)} {_esc(name)} (no territory)</title></circle>"
        )
    for layer in layers:
        tid = _esc(layer.territory_id)
        out.append(f'<g class="territory" data-territory="{tid}" fill="{layer.colour}">')
        for account_id, name, p in layer.accounts:
            x, y = frame.xy(p.lat, p.lon)
            look = ("account selected", "#1b1f24", 5) if account_id in selected else None
            kind, stroke, width = look or ("account", "#fff", 2)
            out.append(
                f'<circle class="{kind}" data-account="{_esc(account_id)}" cx="{x}" cy="{y}" '
                f'r="9" stroke="{stroke}" stroke-width="{width}"><title>{_esc(account_id)} '
                f"{_esc(name)} · {tid}</title></circle>"
            )
        out.append("</g>")
    for layer in layers:
        if layer.home is None:
            continue
        x, y = frame.xy(layer.home.lat, layer.home.lon)
        out.append(
            f'<g class="marker home"><title>{_esc(layer.home_title)}</title>'
            f'<rect x="{x - 22}" y="{y - 22}" width="44" height="44" rx="6" '
            f'fill="{layer.colour}" stroke="#1b1f24" stroke-width="5"/>'
            f'<text x="{x}" y="{y + 10}" text-anchor="middle" font-size="28" fill="#fff" '
            'font-family="sans-serif">H</text></g>'
        )
    out.append("</svg>")
    return "".join(out)
