"""Travel factors and visit durations learned from the times reps record, with their evidence.

A rep's check-in at a visit and the "done" at the one before give the drive actually taken
between them; check-in and done at one visit give its actual duration. From these:

* :func:`fit_travel_factors`: per rep (or per region, or any key) the factor by which actual
  drives exceed planned ones, as a robust centre of ``log(actual / planned)`` (Huber), so a
  lunch stop between two visits or a forgotten check-in barely moves it;
* :func:`fit_visit_durations`: per account the typical actual visit length, the same way.

A key with fewer than the minimum observations gets no estimate (it is listed with its count
instead): a factor learned from three drives would make plans worse, not better. Every estimate
carries its evidence (observations used, outliers down-weighted, spread, a 90 % interval), for
a manager to confirm before it is applied. The functions are pure: records in, estimates out;
reading records from storage, showing them and applying confirmed values belong to the service
layer (:func:`observations_from_day` turns one planned day plus its recorded times into
observations; :class:`~routeplanner.travel.scaled.ScaledTravel` applies a travel factor).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from routeplanner.learning.robust import Centre, huber_centre
from routeplanner.model.plan import DayRoute

#: Two-sided 90 % normal quantile, for the interval of an estimate.
Z90 = 1.6449
#: Drives planned shorter than this are left out of travel factors: a minute of parking or
#: walking in is then most of the drive, and their ratios say little about the roads.
DEFAULT_MIN_PLANNED_S = 120.0
DEFAULT_MIN_LEGS = 15
DEFAULT_MIN_VISITS = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Leg:
    """One drive between two recorded points: planned and actual seconds."""

    rep_id: str
    account_id: str
    planned_s: float
    actual_s: float
    region: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Stay:
    """One visit: planned and actual seconds on site."""

    rep_id: str
    account_id: str
    planned_s: float
    actual_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Recorded:
    """What a rep recorded at one planned stop, seconds after local midnight (None: missing)."""

    visit_id: str
    check_in_s: int | None = None
    done_s: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Estimate:
    """A learned value with its evidence.

    ``value`` is a factor (actual / planned drive time) or seconds (visit length); ``low`` and
    ``high`` bound it with 90 % confidence; ``n`` observations were used, ``outliers`` of them
    down-weighted; ``spread`` is the robust relative spread of one observation (0.2: a single
    drive or visit is typically 20 % off the estimate); ``planned`` is the planned value the
    estimate would replace (1.0 for factors, the median planned seconds for visits).
    """

    key: str
    value: float
    low: float
    high: float
    n: int
    outliers: int
    spread: float
    planned: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Fit:
    """Estimates for keys with enough observations; the others with their observation count."""

    estimates: Mapping[str, Estimate] = field(default_factory=dict)
    too_few: Mapping[str, int] = field(default_factory=dict)
    rejected: int = 0


def _log_estimate(key: str, logs: Sequence[float], planned: float, scale: float) -> Estimate:
    """Centre of log-values mapped back: ``scale * exp(centre)`` with its interval."""
    centre: Centre = huber_centre(logs)
    return Estimate(
        key=key,
        value=scale * math.exp(centre.value),
        low=scale * math.exp(centre.value - Z90 * centre.stderr),
        high=scale * math.exp(centre.value + Z90 * centre.stderr),
        n=centre.n,
        outliers=centre.outliers,
        spread=centre.spread,
        planned=planned,
    )


def fit_travel_factors(
    legs: Iterable[Leg],
    *,
    key: Callable[[Leg], str] = lambda leg: leg.rep_id,
    min_legs: int = DEFAULT_MIN_LEGS,
    min_planned_s: float = DEFAULT_MIN_PLANNED_S,
) -> Fit:
    """Actual / planned drive time per ``key`` (rep by default; ``lambda l: l.region`` …)."""
    if min_legs < 1:
        msg = f"min_legs must be at least 1, got {min_legs}"
        raise ValueError(msg)
    groups: dict[str, list[float]] = {}
    rejected = 0
    for leg in legs:
        usable = leg.planned_s >= min_planned_s and leg.actual_s > 0
        usable = usable and math.isfinite(leg.actual_s) and math.isfinite(leg.planned_s)
        if not usable:
            rejected += 1
            continue
        groups.setdefault(key(leg), []).append(math.log(leg.actual_s / leg.planned_s))
    return _fit_groups(groups, min_legs, rejected, planned={}, scale={})


def fit_visit_durations(stays: Iterable[Stay], *, min_visits: int = DEFAULT_MIN_VISITS) -> Fit:
    """Typical actual visit length (seconds) per account."""
    if min_visits < 1:
        msg = f"min_visits must be at least 1, got {min_visits}"
        raise ValueError(msg)
    groups: dict[str, list[float]] = {}
    planned: dict[str, list[float]] = {}
    rejected = 0
    for stay in stays:
        if not (stay.actual_s > 0 and math.isfinite(stay.actual_s)):
            rejected += 1
            continue
        groups.setdefault(stay.account_id, []).append(math.log(stay.actual_s))
        planned.setdefault(stay.account_id, []).append(stay.planned_s)
    typical = {k: float(np.median(v)) for k, v in planned.items()}
    return _fit_groups(
        groups, min_visits, rejected, planned=typical, scale={k: 1.0 for k in groups}
    )


def _fit_groups(
    groups: Mapping[str, Sequence[float]],
    minimum: int,
    rejected: int,
    *,
    planned: Mapping[str, float],
    scale: Mapping[str, float],
) -> Fit:
    estimates = {}
    too_few = {}
    for name, logs in sorted(groups.items()):
        if len(logs) < minimum:
            too_few[name] = len(logs)
            continue
        estimates[name] = _log_estimate(name, logs, planned.get(name, 1.0), scale.get(name, 1.0))
    return Fit(estimates=estimates, too_few=too_few, rejected=rejected)


def observations_from_day(
    route: DayRoute,
    recorded: Mapping[str, Recorded],
    *,
    left_home_s: int | None = None,
    region_of: Callable[[str], str] = lambda _account: "",
) -> tuple[list[Leg], list[Stay]]:
    """Drives and visits of one planned day whose times were recorded.

    A drive counts only between two stops recorded in the planned order (check-in at the second
    after done at the first; the first drive of the day needs ``left_home_s``), and only when
    the plan had no waiting before the second stop: a rep who arrives early and waits for the
    opening checks in at the opening, whatever the roads did.
    """
    legs: list[Leg] = []
    stays: list[Stay] = []
    checked_in = sorted(
        (r.check_in_s, i)
        for i, stop in enumerate(route.stops)
        if (r := recorded.get(stop.visit_id)) is not None and r.check_in_s is not None
    )
    # The stop visited just before each one, by recorded check-in (-1: first of the day).
    actual_before = {i: (checked_in[k - 1][1] if k else -1) for k, (_, i) in enumerate(checked_in)}
    for i, stop in enumerate(route.stops):
        seen = recorded.get(stop.visit_id, Recorded(visit_id=stop.visit_id))
        arrived = seen.check_in_s
        if arrived is None:
            continue
        if i == 0:
            previous_done = left_home_s
        else:
            previous_done = recorded.get(route.stops[i - 1].visit_id, Recorded(visit_id="")).done_s
        in_order = actual_before.get(i) == i - 1
        if in_order and previous_done is not None and stop.wait_s == 0:
            legs.append(
                Leg(
                    rep_id=route.rep_id,
                    account_id=stop.account_id,
                    planned_s=float(stop.travel_s),
                    actual_s=float(arrived - previous_done),
                    region=region_of(stop.account_id),
                )
            )
        if seen.done_s is not None:
            stays.append(
                Stay(
                    rep_id=route.rep_id,
                    account_id=stop.account_id,
                    planned_s=float(stop.departure_s - stop.start_s),
                    actual_s=float(seen.done_s - arrived),
                )
            )
    return legs, stays
