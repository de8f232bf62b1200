"""Exception tree shared by every layer, so edges (CLI, web) can map each kind to one response."""

from __future__ import annotations

from dataclasses import dataclass


class RoutePlannerError(Exception):
    """Base of every error routeplanner raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one input cell; ``row`` is 1-based as a spreadsheet shows it.

    ``row`` counts the header as row 1, so the first data row of a CSV is row 2: that is the
    number a user sees in a spreadsheet program, which is where they will fix it.
    """

    source: str
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.row is not None:
            where += f":{self.row}"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


class InputError(RoutePlannerError, ValueError):
    """Bad user input; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("input", None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RoadNetworkError(RoutePlannerError):
    """The OSM file cannot be read or yields no usable drivable network."""


class StorageError(RoutePlannerError):
    """The database refused a read or write."""


class ConflictError(StorageError):
    """The stored state changed since the caller read it (a stale dry run): read and retry."""


class InternalError(RoutePlannerError):
    """A bug: an invariant of ours does not hold (for example a solver result fails our check)."""


class RoutePlannerWarning(UserWarning):
    """Suspicious but legal input, such as values close to solver limits."""
