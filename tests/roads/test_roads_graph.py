"""Loading road graphs: any format, speeds and fallbacks, clipped extracts, errors and the cache."""

from __future__ import annotations

import bz2
import gzip
import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from routeplanner.errors import RoadNetworkError, RoutePlannerWarning
from routeplanner.roads.graph import RoadGraph, cache_file, load_road_graph
from routeplanner.roads.model import DEFAULT_UNPOSTED_SPEED_KMH, RoadModel
from routeplanner.units import haversine_m
from tests.helpers import DATA_DIR, REPO

OSM = DATA_DIR / "osm"
MPH = 1.609344
FREE = RoadModel.free_flow_model()


def _speeds_kmh(graph: RoadGraph) -> np.ndarray:
    return graph.length_m / graph.travel_time_s * 3.6


def _grid_street_length_m() -> float:
    """The 3x3 fixture grid: 3 rows and 3 columns of two 0.001° steps from (50.0, 8.0)."""
    rows = sum(haversine_m(50.0 + r * 0.001, 8.0, 50.0 + r * 0.001, 8.002) for r in range(3))
    cols = sum(haversine_m(50.0, 8.0 + c * 0.001, 50.002, 8.0 + c * 0.001) for c in range(3))
    return rows + cols


def _assert_same_graph(a: RoadGraph, b: RoadGraph, *, names: bool = True) -> None:
    for name, value in a.arrays().items():
        if not names and name in ("edge_name", "street_names"):
            continue
        np.testing.assert_array_equal(value, b.arrays()[name], err_msg=name)


def test_grid_keeps_only_drivable_streets() -> None:
    graph = load_road_graph(OSM / "grid_mixed.osm", model=FREE)
    # Corners have two neighbours and are simplified away: 4 side middles + centre remain,
    # joined by 8 two-way streets (16 directed edges).
    assert (graph.nodes, graph.edges) == (5, 16)
    # Every street twice (both directions), and nothing else: no footway, river, driveway...
    assert graph.length_m.sum() == pytest.approx(2 * _grid_street_length_m(), rel=1e-4)
    np.testing.assert_allclose(_speeds_kmh(graph), 50.0)
    # The road model drives the same streets, at its share of the posted 50 km/h.
    modelled = load_road_graph(OSM / "grid_mixed.osm")
    assert (modelled.nodes, modelled.edges) == (5, 16)
    factor = RoadModel().posted_speed_factor["residential"]
    np.testing.assert_allclose(_speeds_kmh(modelled), 50.0 * factor)


def test_mph_maxspeed_is_converted() -> None:
    graph = load_road_graph(OSM / "grid_mph.osm", model=FREE)
    # osmnx converts with 1.60934 km per mile, hence 1e-5 rather than exact.
    np.testing.assert_allclose(_speeds_kmh(graph), 20 * MPH, rtol=1e-5)
    # travel time = length / speed: 100 m at 20 mph (8.9408 m/s) takes 11.18 s; read as
    # 20 km/h it would take 18 s.
    np.testing.assert_allclose(graph.travel_time_s, graph.length_m / (20 * MPH / 3.6), rtol=1e-5)
    # The road model reads miles per hour too (exact factor 1.609344).
    modelled = load_road_graph(OSM / "grid_mph.osm")
    factor = RoadModel().posted_speed_factor["residential"]
    np.testing.assert_allclose(_speeds_kmh(modelled), 20 * MPH * factor)


def test_missing_maxspeed_takes_the_class_default() -> None:
    graph = load_road_graph(OSM / "grid_no_maxspeed.osm", model=FREE)
    np.testing.assert_allclose(_speeds_kmh(graph), 30.0)  # FREE_FLOW_HWY_SPEEDS_KMH residential
    modelled = load_road_graph(OSM / "grid_no_maxspeed.osm")
    np.testing.assert_allclose(_speeds_kmh(modelled), DEFAULT_UNPOSTED_SPEED_KMH["residential"])


def test_missing_maxspeed_with_own_speeds_and_fallback() -> None:
    custom = load_road_graph(
        OSM / "grid_no_maxspeed.osm", model=RoadModel.free_flow_model({"residential": 45.0})
    )
    np.testing.assert_allclose(_speeds_kmh(custom), 45.0)
    fallback = load_road_graph(
        OSM / "grid_no_maxspeed.osm", model=RoadModel.free_flow_model({}, fallback_kmh=25.0)
    )
    np.testing.assert_allclose(_speeds_kmh(fallback), 25.0)
    modelled = load_road_graph(
        OSM / "grid_no_maxspeed.osm", model=RoadModel(unposted_speed_kmh={"residential": 45.0})
    )
    np.testing.assert_allclose(_speeds_kmh(modelled), 45.0)


def test_clipped_extract_loads_without_shortcuts() -> None:
    graph = load_road_graph(OSM / "clipped.osm")
    assert graph.stats["ways_split"] == 1
    # Remaining streets: 1-2-5-6-3 (the detour), 3-4 and 7-3, each both ways.
    expected = (
        haversine_m(50.0, 8.0, 50.0, 8.002)
        + haversine_m(50.0, 8.002, 50.003, 8.002)
        + haversine_m(50.003, 8.002, 50.003, 8.006)
        + haversine_m(50.003, 8.006, 50.0, 8.006)
        + haversine_m(50.0, 8.006, 50.0, 8.008)
        + haversine_m(49.998, 8.006, 50.0, 8.006)
    )
    assert graph.length_m.sum() == pytest.approx(2 * expected, rel=1e-4)
    # No straight line across the cut between node 2 (8.002) and node 3 (8.006) on lat 50.0.
    for e in range(graph.edges):
        line = graph.edge_polyline(e)
        for (lat1, lon1), (lat2, lon2) in itertools.pairwise(line):
            across = lat1 == lat2 == 50.0 and {round(lon1, 6), round(lon2, 6)} == {8.002, 8.006}
            assert not across, f"edge {e} cuts straight across the clipped part"


@pytest.mark.parametrize("compress", [bz2.compress, gzip.compress], ids=["bz2", "gz"])
def test_compressed_xml_gives_the_same_graph(tmp_path: Path, compress) -> None:
    suffix = ".osm.bz2" if compress is bz2.compress else ".osm.gz"
    packed = tmp_path / f"grid{suffix}"
    packed.write_bytes(compress((OSM / "grid_mph.osm").read_bytes()))
    _assert_same_graph(load_road_graph(packed), load_road_graph(OSM / "grid_mph.osm"))


def test_graph_arrays_are_consistent_and_read_only() -> None:
    graph = load_road_graph(OSM / "clipped.osm")
    assert np.all(np.diff(graph.indptr) >= 0)
    assert graph.indptr[-1] == graph.edges
    tails = graph.tails
    for e in range(graph.edges):
        line = graph.edge_polyline(e)
        assert line[0] == (graph.lat[tails[e]], graph.lon[tails[e]])
        assert line[-1] == (graph.lat[graph.indices[e]], graph.lon[graph.indices[e]])
    with pytest.raises(ValueError, match="read-only"):
        graph.travel_time_s[0] = 1.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, r"x\.osm\.pbf: file not found"),
        (lambda p: p.write_bytes(b"\x00garbage" * 100), r"x\.osm\.pbf: not an OSM file"),
        (
            lambda p: p.write_bytes((OSM / "andorra.osm.pbf").read_bytes()[:200_000]),
            r"x\.osm\.pbf: cannot read OSM data",
        ),
        (
            lambda p: p.write_bytes(b'<?xml version="1.0"?>\n<osm version="0.6">\n<node id='),
            r"x\.osm\.pbf: cannot read OSM data",
        ),
        (
            lambda p: shutil.copy(OSM / "no_roads.osm", p),
            r"x\.osm\.pbf: no drivable roads \(3 ways read, none passes the drive filter\)",
        ),
        (
            lambda p: shutil.copy(OSM / "one_way_only.osm", p),
            r"x\.osm\.pbf: no drivable network \(the 1 drivable way\(s\) do not form",
        ),
    ],
    ids=["missing", "garbage", "truncated-pbf", "truncated-xml", "no-roads", "one-way-only"],
)
def test_bad_files_raise_road_network_error_naming_the_file(
    tmp_path: Path, make, message: str
) -> None:
    path = tmp_path / "x.osm.pbf"
    make(path)
    with pytest.raises(RoadNetworkError, match=message):
        load_road_graph(path, cache_dir=tmp_path / "cache")


def test_cache_hit_miss_and_invalidation(tmp_path: Path) -> None:
    src = tmp_path / "region.osm"
    shutil.copy(OSM / "grid_mph.osm", src)
    cache = tmp_path / "cache"
    first = load_road_graph(src, cache_dir=cache)
    second = load_road_graph(src, cache_dir=cache)
    assert (first.from_cache, second.from_cache) == (False, True)
    _assert_same_graph(first, second)
    assert second.sha256 == first.sha256
    assert cache_file(cache, first.sha256).is_file()
    # Another road model is another graph: a miss, stored next to the first.
    other = load_road_graph(src, cache_dir=cache, model=RoadModel(signal_s=9.0))
    assert not other.from_cache
    assert len(list(cache.glob("*.npz"))) == 2
    assert load_road_graph(src, cache_dir=cache, model=RoadModel(signal_s=9.0)).from_cache
    # Same name, new content: the key is the content hash, so this is a miss too.
    shutil.copy(OSM / "grid_no_maxspeed.osm", src)
    changed = load_road_graph(src, cache_dir=cache, model=FREE)
    assert not changed.from_cache
    np.testing.assert_allclose(_speeds_kmh(changed), 30.0)


def test_cached_load_does_not_import_osmnx(tmp_path: Path) -> None:
    """A cached load must stay cheap: importing osmnx alone takes seconds (not timed here)."""
    cache = tmp_path / "cache"
    load_road_graph(OSM / "grid_mph.osm", cache_dir=cache)
    src, folder = str(OSM / "grid_mph.osm"), str(cache)
    code = (
        "import sys; from pathlib import Path\n"
        "from routeplanner.roads.graph import load_road_graph\n"
        f"g = load_road_graph(Path({src!r}), cache_dir=Path({folder!r}))\n"
        "print(g.from_cache, 'osmnx' in sys.modules, 'networkx' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["True", "False", "False"]


def test_damaged_cache_file_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    graph = load_road_graph(OSM / "grid_mph.osm", cache_dir=cache)
    target = cache_file(cache, graph.sha256)
    target.write_bytes(b"not a zip")
    again = load_road_graph(OSM / "grid_mph.osm", cache_dir=cache)
    assert not again.from_cache
    _assert_same_graph(graph, again)
    assert load_road_graph(OSM / "grid_mph.osm", cache_dir=cache).from_cache


def test_folder_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "region.osm"
    folder.mkdir()
    with pytest.raises(RoadNetworkError, match=r"/region\.osm: is a folder, not an OSM file$"):
        load_road_graph(folder)


def test_unwritable_cache_warns_and_still_loads(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(RoutePlannerWarning, match="cannot write road graph cache"):
        graph = load_road_graph(OSM / "grid_mph.osm", cache_dir=blocker)
    assert (graph.nodes, graph.edges) == (5, 16)


def test_no_cache_dir_writes_nothing(tmp_path: Path) -> None:
    graph = load_road_graph(OSM / "grid_mph.osm", cache_dir=None)
    assert not graph.from_cache
    assert graph.load_seconds > 0
    assert list(tmp_path.iterdir()) == []


def test_progress_reports_stages_in_order() -> None:
    seen: list[tuple[str, float]] = []
    load_road_graph(OSM / "grid_mph.osm", progress=lambda s, f: seen.append((s, f)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions)
    assert seen[0] == ("hashing file", 0.0)
    assert seen[-1] == ("done", 1.0)


@pytest.mark.osm
@pytest.mark.slow
def test_andorra_pbf_and_gzip_xml_give_the_same_graph(andorra_graph: RoadGraph) -> None:
    # Figures from /work/shared/osm/README.md (osmnx 2.1.1 drive network, largest SCC) for the
    # free-flow model; the road model leaves out three closed ways (two bus-only CG-1 lanes and
    # a stretch of CG-2 tagged construction=primary), two nodes and five edges fewer.
    assert (andorra_graph.nodes, andorra_graph.edges) == (1155, 2361)
    assert andorra_graph.stats["ways_closed"] == 3
    from_xml = load_road_graph(OSM / "andorra.osm.gz")
    # the XML copy lacks one way's name tag (way 6185986, "Av. de Joan Martí"): same roads,
    # one label fewer
    _assert_same_graph(andorra_graph, from_xml, names=False)
    assert set(andorra_graph.street_names) - set(from_xml.street_names) == {"Av. de Joan Martí"}
    free = load_road_graph(OSM / "andorra.osm.gz", model=FREE)
    assert (free.nodes, free.edges) == (1157, 2366)


@pytest.mark.osm
def test_andorra_second_load_comes_from_cache(
    andorra_graph: RoadGraph, road_cache_dir: Path
) -> None:
    again = load_road_graph(OSM / "andorra.osm.pbf", cache_dir=road_cache_dir)
    assert again.from_cache
    _assert_same_graph(andorra_graph, again)


@pytest.mark.osm
@pytest.mark.slow
def test_heidelberg_sample_graph(heidelberg_graph: RoadGraph) -> None:
    # 5,170 nodes and 12,282 edges in the free-flow model; 17 ways closed to cars left out.
    assert (heidelberg_graph.nodes, heidelberg_graph.edges) == (5154, 12241)
    min_lon, min_lat, max_lon, max_lat = heidelberg_graph.bbox
    assert 8.5 < min_lon < max_lon < 9.2
    assert 49.3 < min_lat < max_lat < 49.6
    speeds = _speeds_kmh(heidelberg_graph)
    assert speeds.min() > 5
    assert speeds.max() <= 130


@pytest.mark.osm
def test_real_extract_clipped_at_a_bounding_box(tmp_path: Path) -> None:
    """Cut Andorra like ``osmium extract --strategy simple``: ways keep refs to cut-off nodes."""
    import osmium

    lo_lat, hi_lat, lo_lon, hi_lon = 42.50, 42.58, 1.48, 1.60
    clipped = tmp_path / "andorra-clip.osm.bz2"
    kept: set[int] = set()
    writer = osmium.SimpleWriter(str(clipped))
    for node in osmium.FileProcessor(str(OSM / "andorra.osm.pbf"), osmium.osm.NODE):
        if lo_lat <= node.location.lat <= hi_lat and lo_lon <= node.location.lon <= hi_lon:
            kept.add(node.id)
            writer.add_node(node)
    for way in osmium.FileProcessor(str(OSM / "andorra.osm.pbf"), osmium.osm.WAY):
        if any(ref.ref in kept for ref in way.nodes):
            writer.add_way(way)
    writer.close()

    graph = load_road_graph(clipped)
    assert graph.stats["ways_split"] > 0
    assert graph.stats["node_refs_missing"] > 0
    assert 100 < graph.nodes < 1157
    min_lon, min_lat, max_lon, max_lat = graph.bbox
    assert lo_lon <= min_lon < max_lon <= hi_lon
    assert lo_lat <= min_lat < max_lat <= hi_lat


def test_a_road_of_two_classes_is_priced_alike_in_every_process() -> None:
    """osmnx prices a joined road by the first of its classes, kept in set order; sorted here."""
    free = load_road_graph(OSM / "mixed_classes.osm", model=FREE)
    ids = free.node_ids.tolist()
    joined = np.flatnonzero(
        (free.tails == ids.index(1)) & (free.indices == ids.index(3))
        | (free.tails == ids.index(3)) & (free.indices == ids.index(1))
    )
    assert len(joined) == 2
    # "residential" sorts before "tertiary": 30 km/h, whatever the process's hash seed.
    np.testing.assert_allclose(_speeds_kmh(free)[joined], 30.0)
    # The road model prices each part by its own class instead.
    modelled = load_road_graph(OSM / "mixed_classes.osm")
    part = haversine_m(50.0, 8.0, 50.0, 8.001) / 1000
    expected_s = part / 25.0 * 3600 + part / 40.0 * 3600  # residential 25, tertiary 40 km/h
    ids = modelled.node_ids.tolist()
    one = np.flatnonzero((modelled.tails == ids.index(1)) & (modelled.indices == ids.index(3)))
    assert modelled.travel_time_s[one[0]] == pytest.approx(expected_s, rel=1e-3)


def test_heidelberg_roads_carry_their_osm_names(heidelberg_graph: RoadGraph) -> None:
    g = heidelberg_graph
    assert len(g.edge_name) == g.edges
    assert g.edge_name.min() >= -1
    assert g.edge_name.max() < len(g.street_names)
    names = set(g.street_names.tolist())
    assert {"Hauptstraße", "Czernyring", "Rohrbacher Straße"} <= names
    assert "B 37" in names  # a road with only a ref is labelled by it
    assert (g.edge_name >= 0).mean() > 0.9
    # both directions of a two-way road carry the same name (parallel roads between the same
    # two junctions may differ)
    tails, heads = g.tails, g.indices
    pair = {(int(t), int(h)): int(n) for t, h, n in zip(tails, heads, g.edge_name, strict=True)}
    twins = [(n, pair[(h, t)]) for (t, h), n in pair.items() if (h, t) in pair]
    assert sum(a == b for a, b in twins) >= 0.99 * len(twins)
