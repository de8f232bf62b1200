"""Per-app services (database, road network, snaps), built by ``create_app`` and never global.

The road graph and the snap results are loaded lazily and memoised on this object, so a test
app without an OSM file still serves pages, and a second app in the same process (another test)
never shares state with the first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from routeplanner.errors import RoadNetworkError
from routeplanner.model import Account, Rep
from routeplanner.roads.graph import RoadGraph
from routeplanner.settings import Settings
from routeplanner.storage.engine import make_engine, migrate, session_factory
from routeplanner.storage.repository import Repository
from routeplanner.travel.provider import Snap, TravelTimeProvider


@dataclass
class Services:
    """What request handlers need; one instance per application."""

    settings: Settings
    repo: Repository
    _travel: TravelTimeProvider | None = None
    _graph: RoadGraph | None = None
    _snaps: dict[str, Snap] | None = None
    _snap_key: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        migrate(settings.database_url)
        engine = make_engine(settings.database_url)
        return cls(settings=settings, repo=Repository(session_factory(engine)))

    def travel(self) -> TravelTimeProvider:
        """The road network of ``settings.osm_path`` (from the array cache after the first load)."""
        with self._lock:
            if self._travel is None:
                from routeplanner.roads.graph import load_road_graph
                from routeplanner.travel.road import RoadTravel

                path = self.settings.osm_path
                if not path.exists():
                    msg = f"{path}: OSM file not found (set RP_OSM_PATH)"
                    raise RoadNetworkError(msg)
                self._graph = load_road_graph(path, cache_dir=self.settings.cache_dir)
                self._travel = RoadTravel(self._graph, max_snap_m=self.settings.max_snap_m)
            return self._travel

    def road_graph(self) -> RoadGraph | None:
        """The loaded graph for map backgrounds, or ``None`` when no road network is available."""
        try:
            self.travel()
        except RoadNetworkError:
            return None
        return self._graph

    def snaps(self, accounts: list[Account], reps: list[Rep]) -> dict[str, Snap]:
        """Snap results keyed ``account:<id>`` / ``rep:<id>``, recomputed when the ids change."""
        key = (tuple(a.account_id for a in accounts), tuple(r.rep_id for r in reps))
        travel = self.travel()
        with self._lock:
            if self._snaps is None or self._snap_key != key:
                points = [(f"account:{a.account_id}", a.location) for a in accounts]
                points += [(f"rep:{r.rep_id}", r.home) for r in reps]
                self._snaps = travel.snap(points).by_id() if points else {}
                self._snap_key = key
            return self._snaps
