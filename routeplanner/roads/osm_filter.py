"""Drivable ways out of any OSM extract (PBF or XML, plain, gzip or bz2) as clean OSM XML.

``osmnx.graph_from_xml`` reads only XML and turns *every* way into an edge (footpaths, rivers,
boundaries), and it fails outright on extracts clipped at a bounding box, where ways reference
nodes that are not in the file. So pyosmium reads the file (any format libosmium knows), keeps
the ways that pass osmnx's own ``drive`` filter, splits clipped ways into runs of present nodes,
and writes just those ways and nodes as a small XML file that osmnx can build a graph from.

The same pass collects what the road model needs beside the XML: each way's class, posted
limits per direction and one-way sense, traffic signals and stop or give-way signs on nodes,
and turn restrictions (relations with a via node); with ``closed_roads`` it also leaves out
roads under construction or closed to cars.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.sax.saxutils import quoteattr

import osmium

from routeplanner.errors import RoadNetworkError

#: Way tags osmnx turns into edge attributes (``ox.settings.useful_tags_way``); only these are
#: written, which keeps the intermediate XML small.
WAY_TAGS = (
    "access",
    "area",
    "bridge",
    "est_width",
    "highway",
    "junction",
    "landuse",
    "lanes",
    "maxspeed",
    "name",
    "oneway",
    "ref",
    "service",
    "tunnel",
    "width",
)

_RULE = re.compile(r'\["(?P<key>[^"]+)"(?:(?P<op>!?~)"(?P<regex>[^"]*)")?\]')


@dataclass(frozen=True, slots=True)
class TagRule:
    """One Overpass tag condition: ``["k"]`` (present), ``["k"~"re"]`` or ``["k"!~"re"]``.

    Overpass regexes are unanchored (``search``, not ``match``), and ``!~`` passes when the tag
    is absent; both matter for matching osmnx's results exactly.
    """

    key: str
    negate: bool
    pattern: re.Pattern[str] | None

    def accepts(self, tags: Mapping[str, str]) -> bool:
        value = tags.get(self.key)
        if self.pattern is None:
            return value is not None
        if value is None:
            return self.negate
        found = self.pattern.search(value) is not None
        return not found if self.negate else found


def parse_overpass_filter(text: str) -> tuple[TagRule, ...]:
    """Turn an osmnx network filter string into rules, so ours never drifts from osmnx's."""
    rules = []
    for match in _RULE.finditer(text):
        regex = match.group("regex")
        rules.append(
            TagRule(
                key=match.group("key"),
                negate=match.group("op") == "!~",
                pattern=None if match.group("op") is None else re.compile(regex or ""),
            )
        )
    if not rules:
        msg = f"no tag conditions found in network filter {text!r}"
        raise ValueError(msg)
    return tuple(rules)


def drive_rules() -> tuple[TagRule, ...]:
    """osmnx's ``network_type="drive"`` filter (public streets, no service roads)."""
    from osmnx import _overpass  # imported here: osmnx takes seconds to import

    return parse_overpass_filter(_overpass._get_network_filter("drive"))


@dataclass(frozen=True, slots=True)
class FilterStats:
    """What the filter saw; ``ways_split`` counts clipped ways cut into runs of present nodes,
    ``ways_closed`` drivable ways left out as closed to cars, ``restrictions_skipped`` turn
    restrictions not of the from-way, via-node, to-way form."""

    ways_read: int
    ways_kept: int
    ways_split: int
    runs_written: int
    nodes_written: int
    node_refs_missing: int
    ways_closed: int = 0
    restrictions_read: int = 0
    restrictions_skipped: int = 0


def sniff_format(path: Path) -> str:
    """The libosmium format name for a file, from its first bytes rather than its name.

    Extracts are often named loosely (``region.test.pbf``, ``data.osm.gz`` holding XML); sniffing
    the content lets a mis-named file load and a garbled one fail with a clear message.
    """
    with path.open("rb") as fh:
        head = fh.read(64)
    if head.startswith(b"\x1f\x8b"):
        return "osm.gz"
    if head.startswith(b"BZh"):
        return "osm.bz2"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"<?xml", b"<osm", b"<!--")):
        return "osm"
    # PBF: a 4-byte big-endian header length, then a BlobHeader whose type is "OSMHeader".
    if len(head) > 16 and b"OSMHeader" in head[:32]:
        return "pbf"
    msg = f"{path}: not an OSM file (expected PBF or OSM XML, optionally gzip or bz2 compressed)"
    raise RoadNetworkError(msg)


@dataclass(frozen=True, slots=True)
class WayInfo:
    """What the road model needs of one written way (split runs of a way share it).

    Speeds are posted limits in km/h along (``forward``) and against the node order, ``None``
    where none is posted; ``against_nodes`` is set for ``oneway=-1`` ways, whose traffic runs
    against the node order.
    """

    original_id: int
    highway: str
    maxspeed_forward: float | None
    maxspeed_backward: float | None
    against_nodes: bool


@dataclass(frozen=True, slots=True)
class NodeControl:
    """A traffic signal or sign on a node; ``direction`` is ``both``, ``forward`` or ``backward``
    (relative to the node order of the way it is on), ``kind`` one of :data:`CONTROL_KINDS`."""

    kind: str
    direction: str


@dataclass(frozen=True, slots=True)
class TurnRestriction:
    """``no_*`` (``only=False``) or ``only_*`` turn from one way onto another at a node."""

    from_way: int
    via_node: int
    to_way: int
    only: bool


@dataclass(frozen=True, slots=True)
class DrivableExtract:
    """The written file's statistics plus the tags the road model reads beside the XML.

    ``ways`` is keyed by the way id written to the XML (so split runs of a clipped way have
    their own key); restrictions name original way ids.
    """

    stats: FilterStats
    ways: Mapping[int, WayInfo]
    controls: Mapping[int, NodeControl]
    restrictions: tuple[TurnRestriction, ...]


def write_drivable_xml(
    path: Path,
    out: Path,
    *,
    rules: tuple[TagRule, ...] | None = None,
    on_way: Callable[[int], None] | None = None,
) -> FilterStats:
    """Write the drivable ways of ``path`` and their nodes to ``out`` as OSM XML.

    Parameters
    ----------
    path
        Any OSM extract libosmium reads: ``.osm.pbf``, ``.osm``, ``.osm.gz``, ``.osm.bz2``.
    out
        Destination XML file (overwritten).
    rules
        Way filter; osmnx's ``drive`` filter by default.
    on_way
        Called every 10,000 ways read with the running count, for progress display.

    Raises
    ------
    RoadNetworkError
        The file is missing, is not OSM data, cannot be decoded, or has no drivable way.
    """
    return extract_drivable(path, out, rules=rules, on_way=on_way).stats


def extract_drivable(
    path: Path,
    out: Path,
    *,
    rules: tuple[TagRule, ...] | None = None,
    on_way: Callable[[int], None] | None = None,
    closed_roads: bool = False,
) -> DrivableExtract:
    """:func:`write_drivable_xml`, also returning way, signal/sign and turn-restriction data.

    ``closed_roads`` also leaves out ways under construction and ways closed to cars
    (:func:`closed_to_cars`).
    """
    if not path.is_file():
        msg = f"{path}: file not found"
        raise RoadNetworkError(msg)
    fmt = sniff_format(path)
    rules = drive_rules() if rules is None else rules
    reader = _Reader(rules, on_way, closed_roads=closed_roads)
    try:
        processor = (
            osmium.FileProcessor(
                osmium.io.File(str(path), fmt),
                osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION,
            )
            .with_locations()
            .with_filter(osmium.filter.EmptyTagFilter())
        )
        for obj in processor:
            reader.read(obj)
    except RoadNetworkError:
        raise
    except (RuntimeError, ValueError, OSError) as exc:
        msg = f"{path}: cannot read OSM data ({exc})"
        raise RoadNetworkError(msg) from exc
    if not reader.kept:
        msg = (
            f"{path}: no drivable roads ({reader.ways_read} ways read, none passes the drive"
            " filter)"
        )
        raise RoadNetworkError(msg)
    return reader.write(out)


#: Node tags read as traffic controls: (key, value) -> kind.
CONTROL_KINDS: Mapping[tuple[str, str], str] = {
    ("highway", "traffic_signals"): "signal",
    ("crossing", "traffic_signals"): "crossing_signal",
    ("highway", "stop"): "stop",
    ("highway", "give_way"): "give_way",
}

#: ``construction=*`` values that leave a road open (works beside the carriageway).
_OPEN_CONSTRUCTION = frozenset({"no", "widening", "minor"})
#: Access values that close a road to private cars (``private`` is already osmnx's).
_CLOSED_ACCESS = frozenset(
    {"no", "agricultural", "forestry", "emergency", "psv", "bus", "military", "official"}
)
#: Most specific first: the first of these a way has decides whether a car may use it.
_ACCESS_KEYS = ("motorcar", "motor_vehicle", "vehicle", "access")


def closed_to_cars(tags: Mapping[str, str]) -> bool:
    """A road under construction, or one whose most specific access tag shuts cars out."""
    construction = tags.get("construction")
    if construction is not None and construction not in _OPEN_CONSTRUCTION:
        return True
    for key in _ACCESS_KEYS:
        value = tags.get(key)
        if value is not None:
            return value in _CLOSED_ACCESS
    return False


def parse_maxspeed(value: str | None) -> float | None:
    """A posted limit in km/h from an OSM ``maxspeed`` value, ``None`` when none is posted.

    Numbers may carry ``km/h``, ``mph`` or ``knots``; several values (``90;30``) give the
    lowest; ``walk`` is 7 km/h and ``XX:urban`` / ``XX:living_street`` are 50 / 7;
    ``none``, ``signals``, ``variable`` and rural or motorway zone codes count as unposted.
    """
    if value is None:
        return None
    speeds = []
    for part in re.split(r"[;|]", value.strip().lower()):
        match = _SPEED.match(part.strip())
        if match:
            number = float(match.group(1).replace(",", "."))
            unit = match.group(2) or ""
            factor = 1.609344 if unit == "mph" else 1.852 if unit == "knots" else 1.0
            if number > 0:
                speeds.append(number * factor)
        elif part.strip() in _IMPLICIT_KMH:
            speeds.append(_IMPLICIT_KMH[part.strip()])
        elif part.strip().endswith(":urban"):
            speeds.append(50.0)
        elif part.strip().endswith(":living_street"):
            speeds.append(7.0)
    return min(speeds) if speeds else None


_SPEED = re.compile(r"^([0-9]+(?:[.,][0-9]+)?)\s*(km/h|kmh|kph|mph|knots)?$")
_IMPLICIT_KMH: Mapping[str, float] = {"walk": 7.0}
_REVERSED_ONEWAY = frozenset({"-1", "reverse", "T"})


def _way_info(way_id: int, tags: Mapping[str, str]) -> WayInfo:
    both = parse_maxspeed(tags.get("maxspeed"))
    forward = parse_maxspeed(tags.get("maxspeed:forward"))
    backward = parse_maxspeed(tags.get("maxspeed:backward"))
    highway = tags.get("highway", "")
    return WayInfo(
        original_id=way_id,
        highway=highway,
        maxspeed_forward=forward if forward is not None else both,
        maxspeed_backward=backward if backward is not None else both,
        against_nodes=tags.get("oneway", "") in _REVERSED_ONEWAY,
    )


def _control(tags: osmium.osm.TagList) -> NodeControl | None:
    for (key, value), kind in CONTROL_KINDS.items():
        if tags.get(key) == value:
            if kind == "stop" and tags.get("stop") in ("all", "minor"):
                kind = f"stop_{tags.get('stop')}"
            raw = tags.get("traffic_signals:direction") or tags.get("direction") or ""
            direction = raw if raw in ("forward", "backward") else "both"
            return NodeControl(kind=kind, direction=direction)
    return None


def _car_restriction(tags: osmium.osm.TagList) -> str | None:
    """``no_*``/``only_*`` of a restriction relation that binds cars, else None."""
    if tags.get("type") != "restriction":
        return None
    exempt = {v.strip() for v in (tags.get("except") or "").split(";")}
    if exempt & {"motorcar", "motor_vehicle", "vehicle"}:
        return None
    value = (
        tags.get("restriction:motorcar")
        or tags.get("restriction:motor_vehicle")
        or tags.get("restriction")
        or ""
    )
    return value if value.startswith(("no_", "only_")) else None


def _via_node_restriction(rel: osmium.osm.Relation, value: str) -> TurnRestriction | None:
    """The restriction as from-way, via-node, to-way; None when it is not of that form (a
    restriction via a way, or with several from or to ways, is not placed)."""
    roles: dict[str, list[tuple[str, int]]] = {}
    for member in rel.members:
        roles.setdefault(member.role, []).append((member.type, member.ref))
    via, froms, tos = roles.get("via", []), roles.get("from", []), roles.get("to", [])
    if [len(via), len(froms), len(tos)] != [1, 1, 1]:
        return None
    if (via[0][0], froms[0][0], tos[0][0]) != ("n", "w", "w"):
        return None
    return TurnRestriction(
        from_way=froms[0][1], via_node=via[0][1], to_way=tos[0][1], only=value.startswith("only_")
    )


class _Reader:
    """One pass over the file: drivable ways (split at missing nodes), controls, restrictions."""

    def __init__(
        self,
        rules: tuple[TagRule, ...],
        on_way: Callable[[int], None] | None,
        *,
        closed_roads: bool,
    ) -> None:
        self.rules = rules
        self.on_way = on_way
        self.closed_roads = closed_roads
        self.kept: list[tuple[int, dict[str, str], list[list[int]]]] = []
        self.coords: dict[int, tuple[float, float]] = {}
        self.controls: dict[int, NodeControl] = {}
        self.restrictions: list[TurnRestriction] = []
        self.ways_read = self.ways_split = self.missing = self.ways_closed = 0
        self.restrictions_skipped = 0
        self.max_way_id = 0

    def read(self, obj: object) -> None:
        if isinstance(obj, osmium.osm.Node):
            control = _control(obj.tags)
            if control is not None:
                self.controls[obj.id] = control
        elif isinstance(obj, osmium.osm.Way):
            self._way(obj)
        elif isinstance(obj, osmium.osm.Relation):
            value = _car_restriction(obj.tags)
            if value is not None:
                found = _via_node_restriction(obj, value)
                if found is None:
                    self.restrictions_skipped += 1
                else:
                    self.restrictions.append(found)

    def _way(self, way: osmium.osm.Way) -> None:
        self.ways_read += 1
        self.max_way_id = max(self.max_way_id, way.id)
        if self.on_way is not None and self.ways_read % 10_000 == 0:
            self.on_way(self.ways_read)
        tags = {t.k: t.v for t in way.tags}
        if not all(rule.accepts(tags) for rule in self.rules):
            return
        if self.closed_roads and closed_to_cars(tags):
            self.ways_closed += 1
            return
        runs: list[list[int]] = [[]]
        for ref in way.nodes:
            loc = ref.location
            if loc.valid():
                self.coords[ref.ref] = (loc.lat, loc.lon)
                runs[-1].append(ref.ref)
            else:
                self.missing += 1
                if runs[-1]:
                    runs.append([])
        runs = [r for r in runs if len(r) >= 2]
        if len(runs) > 1:
            self.ways_split += 1
        if runs:
            self.kept.append((way.id, tags, runs))

    def write(self, out: Path) -> DrivableExtract:
        used: set[int] = set()
        ways: dict[int, WayInfo] = {}
        runs_written = 0
        next_id = self.max_way_id + 1
        with out.open("w", encoding="utf-8") as fh:
            fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n')
            for way_id, tags, runs in self.kept:
                info = _way_info(way_id, tags)
                written = {k: v for k, v in tags.items() if k in WAY_TAGS}
                for i, run in enumerate(runs):
                    # osmnx keys ways by id, so every extra run of a split way needs its own id.
                    run_id = way_id if i == 0 else next_id
                    if i > 0:
                        next_id += 1
                    _write_way(fh, run_id, run, written)
                    ways[run_id] = info
                    used.update(run)
                    runs_written += 1
            for node_id in sorted(used):
                lat, lon = self.coords[node_id]
                fh.write(f' <node id="{node_id}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
            fh.write("</osm>\n")
        stats = FilterStats(
            ways_read=self.ways_read,
            ways_kept=len(self.kept),
            ways_split=self.ways_split,
            runs_written=runs_written,
            nodes_written=len(used),
            node_refs_missing=self.missing,
            ways_closed=self.ways_closed,
            restrictions_read=len(self.restrictions),
            restrictions_skipped=self.restrictions_skipped,
        )
        controls = {n: c for n, c in self.controls.items() if n in used}
        return DrivableExtract(stats, ways, controls, tuple(self.restrictions))


def _write_way(fh: IO[str], way_id: int, refs: list[int], tags: Mapping[str, str]) -> None:
    fh.write(f' <way id="{way_id}">\n')
    for ref in refs:
        fh.write(f'  <nd ref="{ref}"/>\n')
    for key, value in tags.items():
        fh.write(f"  <tag k={quoteattr(key)} v={quoteattr(value)}/>\n")
    fh.write(" </way>\n")
