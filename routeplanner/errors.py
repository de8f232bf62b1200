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


class NotFoundError(RoutePlannerError, LookupError):
    """What was asked for does not exist: a plan, a job, a rule, a territory, an account."""


class MissingRecordError(NotFoundError, StorageError):
    """A stored record asked for by its id does not exist."""


class PermissionDeniedError(RoutePlannerError):
    """The caller may not do this (a rep acting on another rep's data, a rep doing a manager's
    work); nothing was changed."""


class ConflictError(RoutePlannerError):
    """The request does not fit the current state: it was done already, another run is in
    progress, or what it was computed on changed since. Reading again and retrying may work."""


class StaleStateError(ConflictError, StorageError):
    """A write refused because the stored state changed since the caller read it (a stale dry
    run): read and compute again."""


class OverloadedError(RoutePlannerError):
    """Refused for now to protect the service; trying again after ``retry_after_s`` may work.
    Nothing was stored."""

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = max(1.0, retry_after_s)


class RateLimitedError(OverloadedError):
    """One caller asked too often within a time window (an HTTP 429)."""


class QueueFullError(OverloadedError):
    """Too much work is waiting already, whoever asks (an HTTP 503)."""


class JobCancelledError(RoutePlannerError):
    """Raised by a progress callback to stop a long use case (a plan, a design) at its next
    report; a planning run then marks its version failed, "cancelled by the user"."""


class InternalError(RoutePlannerError):
    """A bug: an invariant of ours does not hold (for example a solver result fails our check)."""


class RoutePlannerWarning(UserWarning):
    """Suspicious but legal input, such as values close to solver limits."""
