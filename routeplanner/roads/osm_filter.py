"""Drivable ways out of any OSM extract (PBF or XML, plain, gzip or bz2) as clean OSM XML.

``osmnx.graph_from_xml`` reads only XML and turns *every* way into an edge (footpaths, rivers,
boundaries), and it fails outright on extracts clipped at a bounding box, where ways reference
nodes that are not in the file. So pyosmium reads the file (any format libosmium knows), keeps
the ways that pass osmnx's own ``drive`` filter, splits clipped ways into runs of present nodes,
and writes just those ways and nodes as a small XML file that osmnx can build a graph from.
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
    """What the filter saw; ``ways_split`` counts clipped ways cut into runs of present nodes."""

    ways_read: int
    ways_kept: int
    ways_split: int
    runs_written: int
    nodes_written: int
    node_refs_missing: int


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
    if not path.is_file():
        msg = f"{path}: file not found"
        raise RoadNetworkError(msg)
    fmt = sniff_format(path)
    rules = drive_rules() if rules is None else rules
    kept: list[tuple[int, dict[str, str], list[list[int]]]] = []
    coords: dict[int, tuple[float, float]] = {}
    ways_read = ways_split = missing = 0
    max_way_id = 0
    try:
        processor = (
            osmium.FileProcessor(osmium.io.File(str(path), fmt), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        )
        for way in processor:
            if not isinstance(way, osmium.osm.Way):
                continue
            ways_read += 1
            max_way_id = max(max_way_id, way.id)
            if on_way is not None and ways_read % 10_000 == 0:
                on_way(ways_read)
            tags = {t.k: t.v for t in way.tags}
            if not all(rule.accepts(tags) for rule in rules):
                continue
            runs: list[list[int]] = [[]]
            for ref in way.nodes:
                loc = ref.location
                if loc.valid():
                    coords[ref.ref] = (loc.lat, loc.lon)
                    runs[-1].append(ref.ref)
                else:
                    missing += 1
                    if runs[-1]:
                        runs.append([])
            runs = [r for r in runs if len(r) >= 2]
            if len(runs) > 1:
                ways_split += 1
            if runs:
                kept.append((way.id, {k: v for k, v in tags.items() if k in WAY_TAGS}, runs))
    except RoadNetworkError:
        raise
    except (RuntimeError, ValueError, OSError) as exc:
        msg = f"{path}: cannot read OSM data ({exc})"
        raise RoadNetworkError(msg) from exc
    if not kept:
        msg = f"{path}: no drivable roads ({ways_read} ways read, none passes the drive filter)"
        raise RoadNetworkError(msg)

    used: set[int] = set()
    runs_written = 0
    next_id = max_way_id + 1
    with out.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n')
        for way_id, tags, runs in kept:
            for i, run in enumerate(runs):
                # osmnx keys ways by id, so every extra run of a split way needs its own id.
                run_id = way_id if i == 0 else next_id
                if i > 0:
                    next_id += 1
                _write_way(fh, run_id, run, tags)
                used.update(run)
                runs_written += 1
        for node_id in sorted(used):
            lat, lon = coords[node_id]
            fh.write(f' <node id="{node_id}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
        fh.write("</osm>\n")
    return FilterStats(
        ways_read=ways_read,
        ways_kept=len(kept),
        ways_split=ways_split,
        runs_written=runs_written,
        nodes_written=len(used),
        node_refs_missing=missing,
    )


def _write_way(fh: IO[str], way_id: int, refs: list[int], tags: Mapping[str, str]) -> None:
    fh.write(f' <way id="{way_id}">\n')
    for ref in refs:
        fh.write(f'  <nd ref="{ref}"/>\n')
    for key, value in tags.items():
        fh.write(f"  <tag k={quoteattr(key)} v={quoteattr(value)}/>\n")
    fh.write(" </way>\n")
