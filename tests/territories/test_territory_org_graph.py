"""The organisation's graph and per-visit travel: one rule for the design and its KPIs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt
import pytest
from scipy.sparse import csr_matrix
from territory_factories import make_reps
from test_territory_roads import _accounts, _road_modules

from routeplanner.model.account import Account
from routeplanner.model.geo import GeoPoint
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.design import build_territories
from routeplanner.territories.metrics import PlanKpis, compute_kpis
from routeplanner.territories.org_graph import (
    CANDIDATES,
    MEASURE_CHUNK,
    candidates,
    graph_of,
    lat_lon,
    measure_unmeasured,
    nearest_first,
    organisation_context,
    organisation_measured,
)
from routeplanner.territories.org_realign import (
    RealignJob,
    RealignResult,
    kept_region,
    measured_organisation,
)
from routeplanner.territories.organisation import (
    CUT_NOTE,
    OrganisationDesign,
    cut_region,
    design_organisation,
)
from routeplanner.territories.realign import RealignOption, realign_territories
from routeplanner.territories.regions import RegionJob, RegionResult, RegionSettings, local_xy
from routeplanner.territories.workload import CONTIGUITY_NEIGHBOURS, RoadCells, TerritoryContext
from routeplanner.travel.provider import TravelTimeProvider
from tests.helpers import RecordingTravel

SMALL = RegionSettings(min_accounts=100, reps_per_region=3)
"""Regions on a small input: 240 accounts and 6 reps go through two regions."""

J = TypeVar("J")
R = TypeVar("R")


class CellRecordingTravel(RecordingTravel):
    """A recording road provider that also draws road cells, as the one it wraps does."""

    def cell_adjacency(self, points: Sequence[GeoPoint]) -> np.ndarray:
        assert isinstance(self.inner, RoadCells)
        return self.inner.cell_adjacency(points)


@pytest.fixture(scope="module")
def org(andorra_graph):  # type: ignore[no-untyped-def]
    _, snap_mod, road_mod = _road_modules()
    travel = road_mod.RoadTravel(andorra_graph)
    accounts = _accounts(snap_mod, andorra_graph, 240, seed=4)
    reps = make_reps(6, 4, accounts)
    return travel, accounts, reps


def _same(a: csr_matrix, b: csr_matrix) -> bool:
    return a.shape == b.shape and (a != b).nnz == 0


def _design(
    travel: TravelTimeProvider,
    accounts: list[Account],
    reps: list[Rep],
    map_regions: Callable[..., Sequence[RegionResult]] | None = None,
) -> OrganisationDesign:
    return design_organisation(
        accounts, reps, travel, deadline=Deadline.after(600.0), settings=SMALL,
        map_regions=map_regions,
    )  # fmt: skip


def test_candidates_leave_out_the_account_itself_even_at_one_spot() -> None:
    xy = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [5.0, 0.0], [9.0, 0.0]])
    near = candidates(xy, count=2)
    assert near.shape == (5, 2)
    assert all(i not in row for i, row in enumerate(near.tolist()))
    assert candidates(xy[:1]).shape == (1, 0)
    assert candidates(xy).shape == (5, 4)


def test_road_neighbours_break_ties_by_organisation_index() -> None:
    times = np.array([[5.0, 3.0, 3.0, 1.0]])
    keys = np.array([[40, 30, 20, 10]])
    assert nearest_first(times, keys).tolist() == [[3, 2, 1, 0]]


@pytest.mark.osm
@pytest.mark.slow
def test_a_design_and_its_kpis_use_one_graph(org) -> None:  # type: ignore[no-untyped-def]
    travel, accounts, reps = org
    found = _design(travel, accounts, reps)
    assert found.regions.count == 2
    ctx, graph = organisation_measured(accounts, reps, travel, horizon_days=28, start=None)
    assert _same(found.graph, graph)
    assert np.array_equal(found.context.travel_estimate_s, ctx.travel_estimate_s)
    # Every account has its road neighbours in the graph, across region borders too.
    assert np.all(np.diff(graph.indptr) >= CONTIGUITY_NEIGHBOURS)
    region = found.regions.account_region
    coo = graph.tocoo()
    assert np.any(region[coo.row] != region[coo.col])
    territories = build_territories(found.context, found.assign)
    kpis = compute_kpis(territories, accounts, reps, travel, regions=SMALL)
    assert kpis.contiguity_violations == found.kpis.contiguity_violations
    assert kpis.max_workload_dev_pct == pytest.approx(found.kpis.max_workload_dev_pct)
    assert [t.enclave_accounts for t in kpis.territories] == [
        t.enclave_accounts for t in found.kpis.territories
    ]


@pytest.mark.osm
@pytest.mark.parametrize("locked", [False, True])
def test_kpis_at_organisation_scale_never_ask_for_all_pairs(andorra_graph, locked: bool) -> None:  # type: ignore[no-untyped-def]
    """A locked territory keeps a design on all pairs, but not the page that measures it."""
    _, snap_mod, road_mod = _road_modules()
    travel = road_mod.RoadTravel(andorra_graph)
    accounts = _accounts(snap_mod, andorra_graph, 3 * MEASURE_CHUNK, seed=5)
    reps = make_reps(6, 5, accounts)
    recording = CellRecordingTravel(travel)
    territories = build_territories(*_nearest_split(travel, accounts, reps))
    if locked:
        territories = [replace(territories[0], locked=True), *territories[1:]]
    kpis = compute_kpis(territories, accounts, reps, recording, regions=SMALL)
    assert kpis.accounts == len(accounts)
    n = len(accounts)
    # Rows of a chunk to their candidates only (and one search from each home).
    assert (MEASURE_CHUNK, n) not in recording.matrix_calls
    assert all(rows < n and cols < n for rows, cols in recording.matrix_calls if rows > len(reps))
    assert all(cols == n for rows, cols in recording.matrix_calls if rows == len(reps))
    chunks = [c for r, c in recording.matrix_calls if r == MEASURE_CHUNK]
    assert len(chunks) == 3


@pytest.mark.osm
def test_measured_in_chunks_equals_measured_at_once(org) -> None:  # type: ignore[no-untyped-def]
    travel, accounts, reps = org
    at_once, graph = organisation_measured(
        accounts, reps, travel, horizon_days=28, start=None, chunk=len(accounts)
    )
    recording = CellRecordingTravel(travel)
    chunked, chunked_graph = organisation_measured(
        accounts, reps, recording, horizon_days=28, start=None, chunk=7
    )
    assert _same(graph, chunked_graph)
    assert np.array_equal(at_once.travel_estimate_s, chunked.travel_estimate_s)
    assert np.array_equal(at_once.workload_s, chunked.workload_s)
    chunk_calls = [(r, c) for r, c in recording.matrix_calls if r == 7]
    assert len(chunk_calls) == len(accounts) // 7
    assert all(c <= 7 * CANDIDATES for _, c in chunk_calls)


@pytest.mark.osm
def test_the_single_path_keeps_all_pairs_below_the_region_size(org) -> None:  # type: ignore[no-untyped-def]
    travel, accounts, reps = org
    recording = CellRecordingTravel(travel)
    territories = build_territories(*_nearest_split(travel, accounts, reps))
    compute_kpis(territories, accounts, reps, recording)  # default sizes: 240 is small
    n = len(accounts)
    assert (n, n) in recording.matrix_calls


def _nearest_split(
    travel: TravelTimeProvider, accounts: Sequence[Account], reps: Sequence[Rep]
) -> tuple[TerritoryContext, npt.NDArray[np.int64]]:
    ctx, _ = organisation_measured(accounts, reps, travel, horizon_days=28, start=None)
    return ctx, np.argmin(ctx.home_s, axis=0).astype(np.int64)


@pytest.mark.osm
@pytest.mark.slow
def test_a_region_cut_without_road_times_is_measured_by_the_organisation(org) -> None:  # type: ignore[no-untyped-def]
    travel, accounts, reps = org

    def cut_first(
        run: Callable[[RegionJob], RegionResult], jobs: Sequence[RegionJob]
    ) -> list[RegionResult]:
        return [cut_region(job) if job.region == 0 else run(job) for job in jobs]

    found = _design(travel, accounts, reps, map_regions=cut_first)
    assert CUT_NOTE in found.notes
    assert not any("without measured road neighbours" in note for note in found.notes)
    ctx, graph = organisation_measured(accounts, reps, travel, horizon_days=28, start=None)
    assert _same(found.graph, graph)
    assert np.array_equal(found.context.travel_estimate_s, ctx.travel_estimate_s)
    territories = build_territories(found.context, found.assign)
    kpis = compute_kpis(territories, accounts, reps, travel, regions=SMALL)
    assert kpis.contiguity_violations == found.kpis.contiguity_violations


@pytest.mark.osm
def test_what_the_time_leaves_unmeasured_is_noted(org) -> None:  # type: ignore[no-untyped-def]
    travel, accounts, reps = org
    ctx, _ = organisation_measured(accounts, reps, travel, horizon_days=28, start=None)
    pairs = np.array([[0, 1], [1, 2]], dtype=np.int64)
    near = candidates(local_xy(*lat_lon(ctx.accounts)))
    unmeasured = np.arange(10, dtype=np.int64)
    same, graph, notes = measure_unmeasured(
        ctx, pairs, unmeasured, travel, near, Deadline.after(0.0)
    )
    assert _same(graph, graph_of(len(accounts), pairs))
    assert np.array_equal(same.travel_estimate_s, ctx.travel_estimate_s)
    assert len(notes) == 1
    assert notes[0].startswith("10 accounts without measured road neighbours")
    _, measured, none = measure_unmeasured(
        ctx, pairs, unmeasured, travel, near, Deadline.after(60.0)
    )
    assert none == ()
    assert np.all(np.diff(measured.indptr)[:10] >= CONTIGUITY_NEIGHBOURS)


class RecordedJobs:
    """A region mapper running realignment jobs in turn and keeping jobs and results; the
    jobs of region ``keep`` (if any) give no options, as when they fail twice."""

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep
        self.jobs: list[RealignJob] = []
        self.results: list[RealignResult] = []

    def __call__(self, run: Callable[[J], R], jobs: Sequence[J]) -> list[R]:
        done: list[R] = []
        for job in jobs:
            assert isinstance(job, RealignJob)
            kept = job.region == self.keep
            done.append(cast(R, kept_region(job, "was left out")) if kept else run(job))
            self.jobs.append(job)
        self.results.extend(cast(list[RealignResult], done))
        return done


Org = tuple[TravelTimeProvider, list[Account], list[Rep]]


def _realigned(org: Org, jobs: RecordedJobs) -> tuple[list[Territory], list[RealignOption]]:
    """The default options of a realignment through two regions, from the nearest-home split
    (no locked territory: a realignment keeps a locked one as it is)."""
    travel, accounts, reps = org
    current = build_territories(*_nearest_split(travel, accounts, reps))
    options = realign_territories(
        current, accounts, reps, travel, regions=SMALL, time_limit_s=60.0, map_regions=jobs
    )
    return current, options


def _assembled_equals_measured(org: Org, jobs: RecordedJobs) -> None:
    """The realignment's graph and workloads, assembled from its jobs' results, are those
    :func:`organisation_measured` measures."""
    travel, accounts, reps = org
    ctx, pairs = organisation_context(accounts, reps, travel, horizon_days=28, start=None)
    index = {a.account_id: i for i, a in enumerate(accounts)}
    members = [np.array([index[a.account_id] for a in job.accounts]) for job in jobs.jobs]
    near = candidates(local_xy(*lat_lon(accounts)))
    measured, graph, notes = measured_organisation(
        ctx, pairs, near, (members, jobs.results), travel, Deadline.after(600.0)
    )
    expected_ctx, expected = organisation_measured(
        accounts, reps, travel, horizon_days=28, start=None
    )
    assert notes == ()
    assert _same(graph, expected)
    assert np.array_equal(measured.travel_estimate_s, expected_ctx.travel_estimate_s)
    assert np.array_equal(measured.workload_s, expected_ctx.workload_s)


def _same_kpis(found: PlanKpis, shown: PlanKpis) -> None:
    assert shown.contiguity_violations == found.contiguity_violations
    assert shown.max_workload_dev_pct == pytest.approx(found.max_workload_dev_pct)
    assert shown.max_balance_dev_pct(1.0, 0.0) == pytest.approx(found.max_balance_dev_pct(1.0, 0.0))
    enclaves = {t.rep_id: t.enclave_accounts for t in found.territories}
    assert {t.rep_id: t.enclave_accounts for t in shown.territories} == enclaves
    workload = {t.rep_id: t.workload_h for t in found.territories}
    assert {t.rep_id: t.workload_h for t in shown.territories} == pytest.approx(workload)


def _options_as_shown(
    org: Org, current: Sequence[Territory], options: Sequence[RealignOption]
) -> None:
    """Every option's KPIs, and those of the split before, are what ``territories show``
    (:func:`compute_kpis`) reports once the option is applied."""
    travel, accounts, reps = org
    before = compute_kpis(current, accounts, reps, travel, regions=SMALL)
    for option in options:
        _same_kpis(option.comparison.before, before)
        _same_kpis(
            option.kpis, compute_kpis(option.territories, accounts, reps, travel, regions=SMALL)
        )


@pytest.mark.osm
@pytest.mark.slow
def test_a_realignment_and_its_kpis_use_one_graph(org) -> None:  # type: ignore[no-untyped-def]
    _, accounts, _ = org
    jobs = RecordedJobs()
    current, options = _realigned(org, jobs)
    assert options[0].notes[0] == "realigned as 2 regions"
    assert max(o.moved_accounts for o in options) > 0
    # The jobs' road neighbours reach across region borders, in organisation indices.
    region_of = {a.account_id: job.region for job in jobs.jobs for a in job.accounts}
    ids = [a.account_id for a in accounts]
    pairs = [p for r in jobs.results for p in r.neighbour_pairs]
    assert any(region_of[ids[a]] != region_of[ids[b]] for a, b in pairs)
    _assembled_equals_measured(org, jobs)
    _options_as_shown(org, current, options)


@pytest.mark.osm
@pytest.mark.slow
def test_a_kept_region_is_measured_by_the_organisation(org) -> None:  # type: ignore[no-untyped-def]
    jobs = RecordedJobs(keep=0)
    current, options = _realigned(org, jobs)
    kept = [r for r in jobs.results if r.kept]
    assert kept
    assert all(r.neighbour_pairs == () and r.travel_estimate_s == () for r in kept)
    for option in options:
        assert "region 1 was left out: its territories are kept as they are" in option.notes
        assert not any("without measured road neighbours" in note for note in option.notes)
    _assembled_equals_measured(org, jobs)
    _options_as_shown(org, current, options)
