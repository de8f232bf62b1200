"""plan_all: one independent job per territory, merged; accounts without a rep are reported."""

from __future__ import annotations

from routeplanner.model import Horizon, Territory, UnassignedReason
from routeplanner.planner import plan_all, territory_jobs
from routeplanner.travel import HaversineTravel
from tests.scheduling.factories import START, make_accounts, make_rep

HORIZON = Horizon(start=START, weeks=2)


def test_two_territories_and_an_orphan() -> None:
    accounts = make_accounts(5, 13)
    reps = [make_rep("r1"), make_rep("r2")]
    ids = [a.account_id for a in accounts]
    territories = [
        Territory(territory_id="t1", name="West", rep_id="r1", account_ids=tuple(ids[:6])),
        Territory(territory_id="t2", name="East", rep_id="r2", account_ids=tuple(ids[6:12])),
    ]
    seen: list[float] = []
    plan = plan_all(
        accounts,
        reps,
        territories,
        HORIZON,
        HaversineTravel(),
        max_iterations=10,
        progress=lambda m, f: seen.append(f),
    )
    reps_of = {s.account_id: r.rep_id for r in plan.routes for s in r.stops}
    assert {reps_of[a] for a in ids[:6] if a in reps_of} == {"r1"}
    assert {reps_of[a] for a in ids[6:12] if a in reps_of} == {"r2"}
    orphan = [u for u in plan.unassigned if u.account_id == ids[12]]
    assert [u.reason for u in orphan] == [UnassignedReason.NO_REP]
    assert seen == sorted(seen)
    assert seen[-1] == 1.0


def test_jobs_are_plain_data() -> None:
    import pickle

    accounts = make_accounts(5, 4)
    terr = [Territory(territory_id="t", name="T", rep_id="r1", account_ids=("a000", "a001"))]
    jobs, orphans = territory_jobs(accounts, [make_rep("r1")], terr, HORIZON)
    assert pickle.loads(pickle.dumps(jobs[0])) == jobs[0]
    assert [o.account_id for o in orphans] == ["a002", "a003"]


def test_the_search_is_chosen_by_name_and_the_context_pickles_with_it() -> None:
    import pickle

    from routeplanner.planner import JobContext
    from routeplanner.scheduling.scheduler import DaySearch

    context = JobContext(HaversineTravel(), search=DaySearch.LNS)
    assert pickle.loads(pickle.dumps(context)).search is DaySearch.LNS
    accounts = make_accounts(5, 6)
    terr = [Territory(territory_id="t", name="T", rep_id="r1", account_ids=("a000", "a001"))]
    plans = {
        search: plan_all(
            accounts,
            [make_rep("r1")],
            terr,
            HORIZON,
            HaversineTravel(),
            max_iterations=5,
            search=search,
        )
        for search in DaySearch
    }
    assert plans[DaySearch.HGS].meta["r1.search"] == "hgs"
    assert plans[DaySearch.LNS].meta["r1.search"] == "lns"
    # Each search's own statistics: the name chose the function, not only the label.
    assert "r1.islands" in plans[DaySearch.HGS].meta
    assert "r1.polishes" in plans[DaySearch.LNS].meta
    default = plan_all(
        accounts, [make_rep("r1")], terr, HORIZON, HaversineTravel(), max_iterations=5
    )
    assert default.meta["r1.search"] == "hgs"


def test_merge_keeps_per_rep_statistics() -> None:
    from routeplanner.model import Plan
    from routeplanner.planner import merge_plans

    a = Plan(meta={"rep_id": "r1", "iterations": "10", "frequency_issues": "x1"})
    b = Plan(meta={"rep_id": "r2", "iterations": "7", "frequency_issues": ""})
    meta = merge_plans([a, b]).meta
    assert meta["territories"] == "2"
    assert meta["frequency_issues"] == "x1"
    assert (meta["r1.iterations"], meta["r2.iterations"]) == ("10", "7")


def test_rush_hours_reach_the_day_routes() -> None:
    """A rush hour covering every working hour slows every drive of every routed day."""
    from routeplanner.roads.model import ROAD_CLASSES
    from routeplanner.travel.timeofday import RushWindow, TimeOfDayProfile

    accounts = make_accounts(5, 8)
    territories = [
        Territory(
            territory_id="t1",
            name="All",
            rep_id="r1",
            account_ids=tuple(a.account_id for a in accounts),
        )
    ]
    everywhere = TimeOfDayProfile(
        windows=[
            RushWindow(
                days="Mo-Su", start="00:00", end="24:00", factors=dict.fromkeys(ROAD_CLASSES, 1.5)
            )
        ]
    )

    def plan(rush: TimeOfDayProfile | None) -> int:
        result = plan_all(
            accounts,
            [make_rep("r1")],
            territories,
            HORIZON,
            HaversineTravel(),
            max_iterations=10,
            rush_hours=rush,
        )
        assert not [u for u in result.unassigned if u.reason != UnassignedReason.NO_ALLOWED_DAY]
        return sum(r.travel_s for r in result.routes)

    calm, rush = plan(None), plan(everywhere)
    assert calm > 0
    assert 1.45 < rush / calm < 1.55
    assert plan(TimeOfDayProfile(enabled=False, windows=everywhere.windows)) == calm
