"""Solver settings: time budget, engines, seed and the limits tests use instead of wall-clock."""

from __future__ import annotations

from dataclasses import dataclass

ENGINES = ("ortools", "pyvrp")


@dataclass(frozen=True, slots=True, kw_only=True)
class SolveParams:
    """How hard and with what to search.

    ``time_limit_s`` is the budget of the whole :func:`~routeplanner.routing.solve.solve` call,
    shared between the engines that can express the problem. ``solution_limit`` and
    ``iteration_limit`` make runs reproducible (tests use them, never the clock): OR-Tools stops
    after that many improving solutions, PyVRP after that many iterations. ``threads`` is kept
    at 1 because both engines search single-threaded and the machine is shared.
    """

    time_limit_s: float = 5.0
    engines: tuple[str, ...] = ENGINES
    seed: int = 0
    solution_limit: int | None = None
    iteration_limit: int | None = None
    threads: int = 1
    pyvrp_share: float = 0.8

    def __post_init__(self) -> None:
        if self.time_limit_s <= 0:
            msg = "time limit must be positive"
            raise ValueError(msg)
        unknown = [e for e in self.engines if e not in ENGINES]
        if unknown or not self.engines:
            msg = f"engines must be a non-empty subset of {ENGINES}, got {self.engines}"
            raise ValueError(msg)
        if self.threads != 1:
            msg = "only single-threaded search is supported"
            raise ValueError(msg)
        if not 0.0 < self.pyvrp_share < 1.0:
            msg = "pyvrp_share must lie strictly between 0 and 1"
            raise ValueError(msg)
