"""Road networks from OpenStreetMap files, prepared once and cached as arrays."""

from routeplanner.roads.graph import RoadGraph, load_road_graph
from routeplanner.roads.model import ROAD_CLASSES, RoadModel
from routeplanner.roads.snap import DEFAULT_MAX_SNAP_M, EdgeIndex, EdgeSnaps, random_road_points

__all__ = [
    "DEFAULT_MAX_SNAP_M",
    "ROAD_CLASSES",
    "EdgeIndex",
    "EdgeSnaps",
    "RoadGraph",
    "RoadModel",
    "load_road_graph",
    "random_road_points",
]
