"""Counting changed visits between two plans: added, dropped, moved, re-ordered."""

from __future__ import annotations

from datetime import date

from routeplanner.model import DayRoute, Plan, Stop
from routeplanner.scheduling.calendar import day_spans
from routeplanner.scheduling.changes import ChangeKind, ChangeSet, VisitChange, plan_changes

MON, TUE, WED, THU = (date(2026, 12, d) for d in (7, 8, 9, 10))


def _day(day: date, *accounts: str, rep: str = "R1") -> DayRoute:
    stops = tuple(
        Stop(
            visit_id=f"{a}@{day.isoformat()}",
            account_id=a,
            arrival_s=0,
            start_s=0,
            departure_s=0,
            travel_s=0,
            distance_m=0,
        )
        for a in accounts
    )
    return DayRoute(rep_id=rep, day=day, start_s=0, end_s=0, stops=stops)


def _kinds(changes: ChangeSet) -> list[tuple[str, str, date | None, date | None]]:
    return [(c.kind.value, c.account_id, c.old_day, c.new_day) for c in changes.changes]


def test_moves_additions_drops_and_order() -> None:
    old = Plan(routes=(_day(MON, "a", "b", "c", "d"), _day(TUE, "e", "f"), _day(WED, "g")))
    new = Plan(
        routes=(
            _day(MON, "b", "c", "a", "d"),  # a goes later among the others: one re-ordered
            _day(TUE, "f", "x"),  # e moved to Thursday, x added
            _day(THU, "e"),  # g dropped (Wednesday gone)
        )
    )
    assert _kinds(plan_changes(old, new, "R1")) == [
        ("reordered", "a", MON, MON),
        ("added", "x", None, TUE),
        ("dropped", "g", WED, None),
        ("moved", "e", TUE, THU),
    ]


def test_only_the_rep_and_the_days_asked_for() -> None:
    old = Plan(routes=(_day(MON, "a"), _day(TUE, "b"), _day(MON, "z", rep="R2")))
    new = Plan(routes=(_day(MON, "a"), _day(TUE, "c"), _day(MON, "y", rep="R2")))
    assert plan_changes(old, new, "R1", last=MON).size == 0
    assert _kinds(plan_changes(old, new, "R1", first=TUE)) == [
        ("dropped", "b", TUE, None),
        ("added", "c", None, TUE),
    ]
    assert plan_changes(old, new, "R2").size == 2
    assert plan_changes(old, old, "R1").size == 0


def test_an_accounts_visits_pair_with_the_nearest_day() -> None:
    old = Plan(routes=(_day(MON, "a"), _day(THU, "a")))
    new = Plan(routes=(_day(WED, "a"), _day(THU, "a")))
    assert _kinds(plan_changes(old, new, "R1")) == [("moved", "a", MON, WED)]


def test_change_set_views_and_dicts() -> None:
    change = VisitChange(
        kind=ChangeKind.MOVED, account_id="a", old_day=MON, new_day=TUE, why="the rep is absent"
    )
    changes = ChangeSet((change,))
    assert changes.moved[0].new_day == TUE
    assert changes.added == changes.dropped == ()
    assert change.visit_id == "a@2026-12-08"
    assert change.to_dict() == {
        "kind": "moved",
        "account_id": "a",
        "old_day": "2026-12-07",
        "new_day": "2026-12-08",
        "why": "the rep is absent",
    }
    assert ChangeSet.from_dicts(changes.to_dicts()) == changes


def test_day_spans_join_consecutive_working_days_over_weekends() -> None:
    days = [date(2026, 12, d) for d in (24, 25, 28, 29, 30, 31)] + [date(2027, 1, 1)]
    assert day_spans(days) == "Thu 24.12.–Fri 01.01."
    assert day_spans([MON, WED, THU]) == "Mon 07.12., Wed 09.12.–Thu 10.12."
