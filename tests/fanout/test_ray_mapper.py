"""Territory jobs on a real local Ray cluster (two CPUs, started once for the module): the same
plans as in process, a task that raises, a worker killed mid-plan, a cancelled run, the road
graph shared through the object store, and what the planning service keeps of a failed
territory."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from routeplanner.errors import InternalError, JobCancelledError
from routeplanner.fanout import FanoutConfig, RayMapper, region_options
from routeplanner.model import Account, GeoPoint, Horizon, Plan, Rep, Territory
from routeplanner.planner import (
    JobContext,
    TerritoryFailure,
    TerritoryPlans,
    in_process,
    plan_territories,
)
from routeplanner.roads.graph import RoadGraph
from routeplanner.scheduling.scheduler import DaySearch
from routeplanner.services import planning
from routeplanner.services.planning import PlanningSetup, PlanParams, keep_failed
from routeplanner.services.territories import DesignParams, TerritoryInputs, propose
from routeplanner.storage import Store
from routeplanner.territories.design import TerritoryPlan, design_territories
from routeplanner.territories.realign import realign_territories
from routeplanner.territories.regions import RegionSettings
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.travel.road import RoadTravel
from tests.fanout import faults
from tests.helpers import require
from tests.scheduling.factories import START, make_accounts, make_rep

HORIZON = Horizon(start=START, weeks=1)
ITERATIONS = 30  # a fixed search, so plans are comparable run to run


@pytest.fixture(scope="module")
def ray_module() -> Iterator[ModuleType]:
    """One local Ray runtime for the module: its start costs seconds, not each test."""
    try:
        import ray
    except ImportError:
        require(False, "ray (a dependency in pyproject.toml: make setup)")
        raise
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    # Workers import our code from the installed package; the test's fault providers travel
    # by value, whatever the workers' import path.
    ray.cloudpickle.register_pickle_by_value(faults)
    yield ray
    ray.cloudpickle.unregister_pickle_by_value(faults)
    ray.shutdown()


@pytest.fixture
def mapper(ray_module: ModuleType) -> Iterator[RayMapper]:
    fanout = RayMapper(FanoutConfig(workers=2, min_jobs=2))
    yield fanout
    fanout.close()  # forgets the shared graph; Ray was started by the fixture and stays


def _region(n_territories: int, per: int = 5) -> tuple[list[Account], list[Rep], list[Territory]]:
    accounts = make_accounts(11, n_territories * per, spread_deg=0.05)
    # Homes apart: a fault provider triggered by a rep's home hits that territory only.
    reps = [make_rep(f"r{i}", home=GeoPoint(49.40 + 0.004 * i, 8.69)) for i in range(n_territories)]
    territories = [
        Territory(
            territory_id=f"t{i}",
            name=f"T{i}",
            rep_id=f"r{i}",
            account_ids=tuple(a.account_id for a in accounts[i * per : (i + 1) * per]),
        )
        for i in range(n_territories)
    ]
    return accounts, reps, territories


def _plan(
    travel: TravelTimeProvider,
    mapper: RayMapper | None,
    n: int = 3,
    search: DaySearch = DaySearch.HGS,
    **kwargs: object,
) -> TerritoryPlans:
    accounts, reps, territories = _region(n)
    return plan_territories(
        accounts,
        reps,
        territories,
        HORIZON,
        JobContext(travel, search=search),
        max_iterations=ITERATIONS,
        seed=7,
        map_jobs=mapper,
        **kwargs,  # type: ignore[arg-type]
    )


def _stops(plan: Plan) -> list[tuple[str, str, list[str]]]:
    return [(r.rep_id, r.day.isoformat(), [s.visit_id for s in r.stops]) for r in plan.routes]


def test_ray_plans_on_roads_are_those_planned_in_process(
    mapper: RayMapper, heidelberg_graph: RoadGraph
) -> None:
    travel = RoadTravel(heidelberg_graph)
    seen: list[float] = []
    on_ray = _plan(travel, mapper, progress=lambda _m, f: seen.append(f))
    here = _plan(travel, None)
    assert not on_ray.failures
    assert _stops(on_ray.merged()) == _stops(here.merged())
    assert sum(len(r.stops) for r in on_ray.merged().routes) > 0
    assert [d.territory_id for d in on_ray.done] == ["t0", "t1", "t2"]
    assert all(d.seconds > 0 for d in on_ray.done)
    assert seen[-1] == 1.0
    assert seen == sorted(seen)
    # The graph went to the object store once and is reused by the next run.
    (ref,) = mapper._graphs.values()
    _plan(travel, mapper, n=2)  # two territories: still on Ray (min_jobs=2)
    assert list(mapper._graphs.values()) == [ref]


def test_the_search_named_in_the_context_is_the_one_run_on_the_workers(mapper: RayMapper) -> None:
    # Each search's own statistics show the workers ran it, not only carried its name.
    own_statistic = {DaySearch.HGS: "islands", DaySearch.LNS: "polishes"}
    for search, statistic in own_statistic.items():
        on_ray = _plan(HaversineTravel(), mapper, n=2, search=search)
        here = _plan(HaversineTravel(), None, n=2, search=search)
        assert not on_ray.failures
        assert [d.plan.meta["search"] for d in on_ray.done] == [search.value] * 2
        assert all(statistic in d.plan.meta for d in on_ray.done)
        assert _stops(on_ray.merged()) == _stops(here.merged())


def test_a_task_that_raises_is_retried_once_then_reported_with_its_territory(
    mapper: RayMapper, tmp_path: Path
) -> None:
    _, reps, _ = _region(3)
    log = tmp_path / "attempts"
    result = _plan(faults.Raising(reps[1].home, log), mapper)
    (failure,) = result.failures
    assert failure == TerritoryFailure(
        "t1", "r1", "RuntimeError: the travel engine is broken for this territory", 2
    )
    assert len(log.read_text().splitlines()) == 2
    assert [d.territory_id for d in result.done] == ["t0", "t2"]


def test_a_worker_killed_mid_plan_is_retried_and_the_run_completes(
    mapper: RayMapper, tmp_path: Path
) -> None:
    _, reps, _ = _region(3)
    log = tmp_path / "attempts"
    result = _plan(faults.KillsWorker(reps[2].home, log), mapper)
    pids = log.read_text().splitlines()  # one line per matrix of that territory
    assert len(set(pids)) == 2  # the killed worker's, then the retry's in a new process
    assert not result.failures
    expected = _plan(HaversineTravel(), None)
    assert _stops(result.merged()) == _stops(expected.merged())


def test_a_worker_killed_on_every_attempt_is_reported_with_its_territory(
    mapper: RayMapper, tmp_path: Path
) -> None:
    _, reps, _ = _region(2)
    result = _plan(faults.KillsWorker(reps[0].home, tmp_path / "log", times=9), mapper, n=2)
    (failure,) = result.failures
    assert (failure.territory_id, failure.rep_id, failure.attempts) == ("t0", "r0", 2)
    assert "Worker" in failure.error or "died" in failure.error
    assert [d.territory_id for d in result.done] == ["t1"]


def test_a_cancelled_run_stops_every_task(mapper: RayMapper, tmp_path: Path) -> None:
    log = tmp_path / "finished"
    slow = faults.Slow(GeoPoint(0.0, 0.0), log, seconds=4.0)
    reports: list[str] = []

    def cancel(message: str, _fraction: float) -> None:
        reports.append(message)
        if len(reports) >= 2:  # the tasks are running by now
            raise JobCancelledError("cancelled")

    started = time.monotonic()
    with pytest.raises(JobCancelledError):
        _plan(slow, mapper, progress=cancel)
    assert time.monotonic() - started < 4.0
    time.sleep(5.0)  # longer than a slow matrix: a task still running would have logged
    assert not log.exists()


def test_a_failed_territory_keeps_its_previous_plan_in_the_service(
    mapper: RayMapper, tmp_path: Path
) -> None:
    _, reps, territories = _region(3)
    previous = _plan(HaversineTravel(), None).merged()
    result = _plan(faults.Raising(reps[1].home, tmp_path / "log"), mapper)
    plan = keep_failed(result, territories, (previous, HORIZON), HORIZON)
    assert plan.routes_of("r1") == previous.routes_of("r1")
    assert "t1: RuntimeError" in plan.meta["failed_territories"]
    assert {r.rep_id for r in plan.routes} == {"r0", "r1", "r2"}
    with pytest.raises(InternalError, match="t1 \\(RuntimeError"):
        keep_failed(result, territories, None, HORIZON)


def test_small_runs_and_single_workers_stay_in_process() -> None:
    assert not FanoutConfig(workers=2, min_jobs=6).uses_ray(5)
    assert FanoutConfig(workers=2, min_jobs=6).uses_ray(6)
    assert not FanoutConfig(workers=1, min_jobs=2).uses_ray(50)
    assert FanoutConfig(workers=1, address="auto").uses_ray(2)
    assert not FanoutConfig(address="auto").uses_ray(1)
    # Below the threshold the mapper is the in-process one: no Ray needed at all.
    outcomes = RayMapper(FanoutConfig(workers=2, min_jobs=9))(
        [], JobContext(HaversineTravel()), None
    )
    assert outcomes == in_process([], JobContext(HaversineTravel()), None)


def test_the_planning_service_fans_out_and_keeps_a_failed_territorys_plan(
    mapper: RayMapper, store: Store, tmp_path: Path
) -> None:
    accounts, reps, _ = _region(3)
    with store.transaction("test inputs") as tx:
        tx.accounts.replace_all(accounts, source="test")
        tx.reps.replace_all(reps, source="test")
    setup = PlanningSetup(jobs=mapper)
    params = PlanParams(start=START, weeks=1, time_limit_s=0.5)
    first = planning.run_planning(store, HaversineTravel(), params, setup)
    assert {r.rep_id for r in first.plan.routes} == {"r0", "r1", "r2"}
    assert "failed_territories" not in first.plan.meta
    broken = faults.Raising(reps[1].home, tmp_path / "log")
    second = planning.run_planning(store, broken, params, setup)
    assert store.plans.current_id() == second.plan_id
    assert second.plan.routes_of("r1") == first.plan.routes_of("r1")
    assert second.plan.meta["failed_territories"].startswith("T-r1: RuntimeError")


def _organisation(n_accounts: int = 160, n_reps: int = 6) -> tuple[list[Account], list[Rep]]:
    accounts = make_accounts(5, n_accounts, spread_deg=0.06)
    reps = [
        make_rep(f"r{i}", home=GeoPoint(49.37 + 0.012 * (i % 3), 8.64 + 0.03 * (i // 3)))
        for i in range(n_reps)
    ]
    return accounts, reps


def _design_on(mapper: RayMapper, travel: TravelTimeProvider) -> TerritoryPlan:
    accounts, reps = _organisation()
    settings, map_regions = region_options(mapper, travel)
    assert settings is not None
    assert map_regions is not None
    small = replace(settings, min_accounts=100, reps_per_region=2)  # regions of 1-2 reps
    return design_territories(
        accounts, reps, travel, regions=small, map_regions=map_regions, time_limit_s=60
    )


def test_an_organisation_designs_its_regions_on_the_workers(
    mapper: RayMapper, tmp_path: Path
) -> None:
    log = tmp_path / "matrices"
    # Slow with no delay logs the pid of every matrix: the region jobs' come from workers.
    plan = _design_on(mapper, faults.Slow(GeoPoint(0.0, 0.0), log, seconds=0.0))
    accounts, reps = _organisation()
    assert len(plan.territories) == len(reps)
    owned = [a for t in plan.territories for a in t.account_ids]
    assert sorted(owned) == sorted(a.account_id for a in accounts)
    assert not [n for n in plan.notes if "failed" in n]
    workers = set(log.read_text().splitlines()) - {str(os.getpid())}
    assert workers, "no region job ran on a Ray worker"


def test_a_region_whose_task_fails_twice_is_cut_and_the_design_completes(
    mapper: RayMapper, tmp_path: Path
) -> None:
    log = tmp_path / "attempts"
    plan = _design_on(mapper, faults.RaisingAway(GeoPoint(0.0, 0.0), log))
    (designed,) = [n for n in plan.notes if n.startswith("designed as ")]
    regions = int(designed.split()[2])
    assert regions >= 3
    failed = [n for n in plan.notes if "its design failed twice" in n]
    assert len(failed) == regions  # every region, each tried twice on the workers
    assert len(log.read_text().splitlines()) == 2 * regions
    assert "RuntimeError: the travel engine is broken on this worker" in failed[0]
    owned = sorted(a for t in plan.territories for a in t.account_ids)
    assert owned == sorted(a.account_id for a in _organisation()[0])


def _current(accounts: list[Account], reps: list[Rep]) -> list[Territory]:
    """Every account to the nearest home (straight line): whole territories to realign."""
    nearest = [
        min(
            reps,
            key=lambda r: (r.home.lat - a.location.lat) ** 2 + (r.home.lon - a.location.lon) ** 2,
        )
        for a in accounts
    ]
    return [
        Territory(
            territory_id=f"t{r.rep_id}",
            name=r.rep_id,
            rep_id=r.rep_id,
            account_ids=tuple(
                a.account_id for a, n in zip(accounts, nearest, strict=True) if n == r
            ),
        )
        for r in reps
    ]


def test_a_realignment_proposed_with_workers_realigns_its_regions_on_them(
    mapper: RayMapper, tmp_path: Path
) -> None:
    accounts, reps = _organisation()
    inputs = TerritoryInputs(tuple(accounts), tuple(reps), tuple(_current(accounts, reps[:-1])))
    log = tmp_path / "matrices"
    proposal = propose(
        replace(inputs, from_store=False),
        faults.Slow(GeoPoint(0.0, 0.0), log, seconds=0.0),
        DesignParams(kind="realign", time_limit_s=60),
        jobs=mapper,
        regions=RegionSettings(min_accounts=100, reps_per_region=2),
    )
    assert "realigned as 4 regions" in proposal.notes  # 6 reps: 3 | 3, then 1 | 2
    assert not [n for n in proposal.notes if "failed" in n]
    workers = set(log.read_text().splitlines()) - {str(os.getpid())}
    assert workers, "no region job ran on a Ray worker"
    for option in proposal.options:
        owned = [a for t in option.territories for a in t.account_ids]
        assert sorted(owned) == sorted(a.account_id for a in accounts)
    assert proposal.options[0].moved_accounts == 0
    # The last rep had no territory: it gets one in the fair option.
    assert [t for t in proposal.options[-1].territories if t.rep_id == reps[-1].rep_id]


def test_a_region_whose_realignment_fails_twice_keeps_its_territories(
    mapper: RayMapper, tmp_path: Path
) -> None:
    accounts, reps = _organisation()
    current = _current(accounts, reps)
    log = tmp_path / "attempts"
    travel = faults.RaisingAway(GeoPoint(0.0, 0.0), log)
    settings, map_regions = region_options(mapper, travel)
    assert settings is not None
    options = realign_territories(
        current, accounts, reps, travel, max_moves=5,
        regions=replace(settings, min_accounts=100, reps_per_region=2), map_regions=map_regions,
        time_limit_s=60,
    )  # fmt: skip
    failed = [n for n in options[0].notes if "failed twice" in n]
    assert len(failed) == 4  # every region, each tried twice on the workers
    assert len(log.read_text().splitlines()) == 2 * 4
    assert "RuntimeError: the travel engine is broken on this worker" in failed[0]
    assert failed[0].endswith("its territories are kept as they are")
    for option in options:
        assert option.moved_accounts == 0
        assert {t.rep_id: set(t.account_ids) for t in option.territories} == {
            t.rep_id: set(t.account_ids) for t in current
        }


def test_one_local_core_designs_regions_in_process() -> None:
    assert region_options(RayMapper(FanoutConfig(workers=1)), HaversineTravel()) == (None, None)
    assert region_options(None, HaversineTravel()) == (None, None)
    settings, _ = region_options(RayMapper(FanoutConfig(workers=2)), HaversineTravel())
    assert settings is not None
    assert settings.parallel == 2
