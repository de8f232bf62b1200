"""Daily and multi-day vehicle routing with time windows (OR-Tools, optionally PyVRP).

Public entry points: :func:`solve` (any :class:`RoutingProblem`, one or many rep-days),
:func:`compute_etas` (time and check a fixed stop order), :func:`optimise_day` /
:func:`build_day_problem` / :func:`retime_day` (one rep-day from domain objects). The solver
engines are imported only when a solve runs.
"""

from routeplanner.routing.day import (
    DayProblem,
    build_day_problem,
    optimise_day,
    retime_day,
    to_day_route,
)
from routeplanner.routing.eta import RouteTimeline, StopTiming, Violation, compute_etas
from routeplanner.routing.params import SolveParams
from routeplanner.routing.problem import (
    UNREACHABLE_S,
    BreakSpec,
    RoutingProblem,
    VehicleSpec,
    VisitSpec,
)
from routeplanner.routing.reasons import DroppedVisit
from routeplanner.routing.solve import Solution, solve

__all__ = [
    "UNREACHABLE_S",
    "BreakSpec",
    "DayProblem",
    "DroppedVisit",
    "RouteTimeline",
    "RoutingProblem",
    "Solution",
    "SolveParams",
    "StopTiming",
    "VehicleSpec",
    "Violation",
    "VisitSpec",
    "build_day_problem",
    "compute_etas",
    "optimise_day",
    "retime_day",
    "solve",
    "to_day_route",
]
