"""Session-wide fixtures; heavier ones (road graph, database, app) live next to their tests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import DATA_DIR, SAMPLE_DIR

ANDORRA_PBF = DATA_DIR / "osm" / "andorra.osm.pbf"
HEIDELBERG_PBF = SAMPLE_DIR / "heidelberg.osm.pbf"

if TYPE_CHECKING:
    from routeplanner.roads.graph import RoadGraph


@pytest.fixture(scope="session")
def road_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One graph cache per test session: the real cache code runs, nothing leaks between runs."""
    return tmp_path_factory.mktemp("road-cache")


@pytest.fixture(scope="session")
def andorra_graph(road_cache_dir: Path) -> RoadGraph:
    """Drivable graph of all of Andorra (real OSM PBF, ~1,150 nodes): small and quick."""
    from routeplanner.roads.graph import load_road_graph

    return load_road_graph(ANDORRA_PBF, cache_dir=road_cache_dir)


@pytest.fixture(scope="session")
def heidelberg_graph(road_cache_dir: Path) -> RoadGraph:
    """Drivable graph of the Heidelberg sample region (~5,200 nodes; ~10 s to build once)."""
    from routeplanner.roads.graph import load_road_graph

    return load_road_graph(HEIDELBERG_PBF, cache_dir=road_cache_dir)
