"""Learning from recorded visits: known answers recovered, outliers ignored, too few: nothing."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from routeplanner.learning import (
    Leg,
    Recorded,
    Stay,
    fit_travel_factors,
    fit_visit_durations,
    huber_centre,
    observations_from_day,
)
from routeplanner.model.plan import DayRoute, Stop


def _legs(rep: str, factor: float, n: int, rng: np.random.Generator, sd: float = 0.1) -> list[Leg]:
    planned = rng.uniform(300, 1800, size=n)
    actual = planned * factor * np.exp(rng.normal(0, sd, size=n))
    return [
        Leg(rep_id=rep, account_id=f"A{i}", planned_s=float(p), actual_s=float(a), region="north")
        for i, (p, a) in enumerate(zip(planned, actual, strict=True))
    ]


def test_huber_centre_of_clean_and_contaminated_samples() -> None:
    assert huber_centre([1.0, 2.0, 3.0]).value == pytest.approx(2.0)
    rng = np.random.default_rng(0)
    clean = rng.normal(10.0, 1.0, size=400)
    dirty = np.concatenate([clean, np.full(40, 60.0)])  # 9 % wild values
    assert huber_centre(clean).value == pytest.approx(10.0, abs=0.15)
    assert huber_centre(dirty).value == pytest.approx(10.0, abs=0.35)
    assert np.mean(dirty) > 14  # the mean would have followed them
    found = huber_centre(dirty)
    assert found.outliers >= 40
    assert found.spread == pytest.approx(1.0, rel=0.15)
    assert found.stderr == pytest.approx(found.spread / math.sqrt(len(dirty)))
    # More than half equal: that value, no spread.
    assert huber_centre([5.0, 5.0, 5.0, 9.0]).value == 5.0
    with pytest.raises(ValueError, match="no values"):
        huber_centre([])
    with pytest.raises(ValueError, match="finite"):
        huber_centre([1.0, float("nan")])


def test_travel_factors_recover_each_reps_pace() -> None:
    rng = np.random.default_rng(1)
    legs = _legs("R1", 1.25, 60, rng) + _legs("R2", 0.9, 60, rng)
    fit = fit_travel_factors(legs)
    assert set(fit.estimates) == {"R1", "R2"}
    r1, r2 = fit.estimates["R1"], fit.estimates["R2"]
    assert r1.value == pytest.approx(1.25, rel=0.04)
    assert r2.value == pytest.approx(0.9, rel=0.04)
    assert r1.low < 1.25 * 1.02  # the 90 % interval covers the true pace
    assert r1.high > 1.25 * 0.98
    assert r1.low < r1.value < r1.high
    assert r1.n == 60
    assert r1.spread == pytest.approx(0.1, rel=0.3)  # the noise put in
    assert r1.planned == 1.0
    # Grouped by region instead: one estimate, between the two paces.
    by_region = fit_travel_factors(legs, key=lambda leg: leg.region)
    assert 0.9 < by_region.estimates["north"].value < 1.25


def test_lunch_breaks_and_forgotten_check_ins_do_not_move_the_factor() -> None:
    rng = np.random.default_rng(2)
    legs = _legs("R1", 1.1, 50, rng)
    # Six drives with an hour's errand inside; one with a clock error (negative).
    legs += [Leg(rep_id="R1", account_id="X", planned_s=600.0, actual_s=600.0 + 3600.0)] * 6
    legs.append(Leg(rep_id="R1", account_id="Y", planned_s=600.0, actual_s=-30.0))
    fit = fit_travel_factors(legs)
    estimate = fit.estimates["R1"]
    assert estimate.value == pytest.approx(1.1, rel=0.05)
    assert estimate.outliers >= 6
    assert estimate.n == 56
    assert fit.rejected == 1
    naive = np.mean([leg.actual_s / leg.planned_s for leg in legs if leg.actual_s > 0])
    assert naive > 1.6


def test_too_few_observations_give_no_estimate() -> None:
    rng = np.random.default_rng(3)
    legs = _legs("R1", 1.2, 14, rng) + _legs("R2", 1.2, 15, rng)
    fit = fit_travel_factors(legs, min_legs=15)
    assert set(fit.estimates) == {"R2"}
    assert fit.too_few == {"R1": 14}
    # Short drives are not evidence: a 90 s hop is mostly parking.
    short = [Leg(rep_id="R3", account_id="A", planned_s=90.0, actual_s=300.0)] * 30
    assert fit_travel_factors(short).estimates == {}
    assert fit_travel_factors(short).rejected == 30
    with pytest.raises(ValueError, match="min_legs"):
        fit_travel_factors(legs, min_legs=0)


def test_visit_durations_per_account_with_outliers_and_minimum() -> None:
    rng = np.random.default_rng(4)
    stays = [
        Stay(rep_id="R1", account_id="A1", planned_s=1800.0, actual_s=float(s))
        for s in 2400 * np.exp(rng.normal(0, 0.15, size=12))
    ]
    # A forgotten check-out: the visit "lasted" four hours.
    stays.append(Stay(rep_id="R1", account_id="A1", planned_s=1800.0, actual_s=4 * 3600.0))
    stays += [Stay(rep_id="R1", account_id="A2", planned_s=1200.0, actual_s=900.0)] * 3
    fit = fit_visit_durations(stays, min_visits=5)
    a1 = fit.estimates["A1"]
    assert a1.value == pytest.approx(2400, rel=0.07)
    assert a1.planned == 1800.0
    assert a1.n == 13
    assert a1.outliers >= 1
    assert fit.too_few == {"A2": 3}


def _route() -> DayRoute:
    stops = []
    clock = 8 * 3600
    for k, (travel, wait) in enumerate([(600, 0), (900, 0), (300, 120), (1200, 0)]):
        clock += travel + wait
        stops.append(
            Stop(
                visit_id=f"v{k}",
                account_id=f"A{k}",
                arrival_s=clock - wait,
                start_s=clock,
                departure_s=clock + 1800,
                travel_s=travel,
                distance_m=0,
                wait_s=wait,
            )
        )
        clock += 1800
    return DayRoute(
        rep_id="R1", day=date(2027, 1, 4), start_s=8 * 3600, end_s=clock, stops=tuple(stops)
    )


def test_observations_from_a_recorded_day() -> None:
    route = _route()
    h = 3600
    recorded = {
        "v0": Recorded(visit_id="v0", check_in_s=8 * h + 700, done_s=8 * h + 700 + 2000),
        "v1": Recorded(visit_id="v1", check_in_s=8 * h + 2700 + 1000, done_s=None),
        "v2": Recorded(visit_id="v2", check_in_s=10 * h, done_s=10 * h + 1500),
        "v3": Recorded(visit_id="v3", check_in_s=10 * h + 1500 + 1300, done_s=11 * h + 900),
    }
    legs, stays = observations_from_day(route, recorded, left_home_s=8 * h)
    # v0: from home (700 s vs 600 planned); v1: after v0's done (1000 vs 900); v2 has no
    # previous done, and a planned wait besides; v3: 1300 vs 1200.
    assert [(leg.account_id, leg.planned_s, leg.actual_s) for leg in legs] == [
        ("A0", 600.0, 700.0),
        ("A1", 900.0, 1000.0),
        ("A3", 1200.0, 1300.0),
    ]
    # Visits with both times: v0, v2, v3 (v1 has no done).
    assert [(s.account_id, s.actual_s) for s in stays] == [
        ("A0", 2000.0),
        ("A2", 1500.0),
        ("A3", 900.0 + 3600 - 1500 - 1300),
    ]
    # Without the time the rep left home, the first drive is unknown.
    legs, _ = observations_from_day(route, recorded)
    assert [leg.account_id for leg in legs] == ["A1", "A3"]


def test_visits_done_out_of_order_give_no_drive() -> None:
    route = _route()
    h = 3600
    recorded = {  # v1 and v0 swapped: the drive to v1 did not start at v0
        "v1": Recorded(visit_id="v1", check_in_s=8 * h + 600, done_s=9 * h),
        "v0": Recorded(visit_id="v0", check_in_s=9 * h + 600, done_s=10 * h),
        "v2": Recorded(visit_id="v2", check_in_s=10 * h + 400, done_s=11 * h),
    }
    legs, stays = observations_from_day(route, recorded, left_home_s=8 * h)
    assert legs == []  # v0 and v1 out of order; v2 had a planned wait
    assert len(stays) == 3
