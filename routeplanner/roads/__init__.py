"""Road networks from OpenStreetMap files, prepared once and cached as arrays."""

from routeplanner.roads.graph import (
    DEFAULT_FALLBACK_KMH,
    DEFAULT_HWY_SPEEDS_KMH,
    RoadGraph,
    load_road_graph,
)
from routeplanner.roads.snap import DEFAULT_MAX_SNAP_M, EdgeIndex, EdgeSnaps, random_road_points

__all__ = [
    "DEFAULT_FALLBACK_KMH",
    "DEFAULT_HWY_SPEEDS_KMH",
    "DEFAULT_MAX_SNAP_M",
    "EdgeIndex",
    "EdgeSnaps",
    "RoadGraph",
    "load_road_graph",
    "random_road_points",
]
