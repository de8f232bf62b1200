"""Operations use cases: is this process ready to serve (readiness probes)?"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from routeplanner.errors import StorageError
from routeplanner.storage import Store, head_revision, schema_revision


@dataclass(frozen=True, slots=True)
class ReadinessCheck:
    """One thing a readiness probe checked: whether it is fine and what was found."""

    name: str
    ok: bool
    detail: str


def readiness(store: Store, osm_path: Path, *, roads_loaded: bool) -> list[ReadinessCheck]:
    """The database answers and holds this version's schema; the road network's OSM file is
    there (``roads_loaded``: whether this process has read it yet)."""
    return [_database_check(store), _roads_check(osm_path, roads_loaded=roads_loaded)]


def _database_check(store: Store) -> ReadinessCheck:
    try:
        found = schema_revision(store.engine)
    except StorageError as exc:
        return ReadinessCheck("database", ok=False, detail=str(exc))
    expected = head_revision()
    if found != expected:
        detail = f"schema {found or 'empty'}, this version needs {expected}"
        return ReadinessCheck("database", ok=False, detail=detail)
    return ReadinessCheck("database", ok=True, detail=f"reachable, schema {found}")


def _roads_check(path: Path, *, roads_loaded: bool) -> ReadinessCheck:
    if not path.is_file():
        return ReadinessCheck("road_network", ok=False, detail=f"{path}: OSM file not found")
    loaded = "loaded" if roads_loaded else "loaded on first use"
    return ReadinessCheck("road_network", ok=True, detail=f"{path} ({loaded})")
