"""Tiny routing problems on a straight road, so every expected time can be worked out by hand.

Location ``i`` sits at kilometre ``POS[i]``; driving takes one minute per kilometre. Times are
seconds after midnight.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from routeplanner.routing.problem import RoutingProblem, VehicleSpec, VisitSpec

H = 3600
M = 60
POS = [0, 10, 20, 30, 40, 50]


def line_matrix(pos: Sequence[int] = POS) -> tuple[np.ndarray, np.ndarray]:
    p = np.array(pos, dtype=np.int64)
    km = np.abs(p[:, None] - p[None, :])
    return km * 60, km * 1000


def problem(
    visits: Sequence[VisitSpec],
    vehicles: Sequence[VehicleSpec] | None = None,
    *,
    pos: Sequence[int] = POS,
    objective: str = "duration",
) -> RoutingProblem:
    dur, dist = line_matrix(pos)
    if vehicles is None:
        vehicles = [vehicle()]
    return RoutingProblem(
        visits=tuple(visits),
        vehicles=tuple(vehicles),
        durations_s=dur,
        distances_m=dist,
        objective=objective,
        source="test",
    )


def visit(vid: str, loc: int, service_min: int = 10, **kw: object) -> VisitSpec:
    return VisitSpec(visit_id=vid, location=loc, service_s=service_min * M, **kw)  # type: ignore[arg-type]


def vehicle(vid: str = "v", start: int = 8 * H, end: int = 17 * H, **kw: object) -> VehicleSpec:
    return VehicleSpec(
        vehicle_id=vid,
        start_location=0,
        end_location=0,
        shift_start=start,
        shift_end=end,
        **kw,  # type: ignore[arg-type]
    )
