"""Checks every plan repair must pass, shared by the synthetic and the sample-region tests."""

from __future__ import annotations

from datetime import date, timedelta

from routeplanner.model import Plan
from routeplanner.scheduling.changes import ChangeKind, ChangeSet, plan_changes
from routeplanner.scheduling.repair import RepairResult


def _placed(changes: ChangeSet) -> tuple[set[tuple[str, date]], set[tuple[str, date]]]:
    """Visits taken off a day and put on a day, as the change list says."""
    gone = {(c.account_id, c.old_day) for c in changes.changes if c.kind is not ChangeKind.ADDED}
    come = {(c.account_id, c.new_day) for c in changes.changes if c.kind is not ChangeKind.DROPPED}
    gone -= {(c.account_id, c.old_day) for c in changes.of_kind(ChangeKind.REORDERED)}
    come -= {(c.account_id, c.new_day) for c in changes.of_kind(ChangeKind.REORDERED)}
    return {(a, d) for a, d in gone if d}, {(a, d) for a, d in come if d}


def assert_repair_invariants(previous: Plan, result: RepairResult, rep_id: str) -> None:
    """Frozen days and untouched days are the previous objects; the change list is exactly
    what differs, each change with its reason."""
    cut = result.frozen_until
    old = {r.day: r for r in previous.routes_of(rep_id)}
    new = {r.day: r for r in result.plan.routes_of(rep_id)}
    for day, route in old.items():
        if day <= cut:
            assert new[day] is route
    touched = {d for c in result.changes.changes for d in (c.old_day, c.new_day) if d}
    for day, route in new.items():
        if day > cut and day not in touched:
            assert old.get(day) is route
    measured = plan_changes(previous, result.plan, rep_id, first=cut + timedelta(days=1))
    assert _placed(measured) == _placed(result.changes)
    reordered = ChangeKind.REORDERED
    assert len(measured.of_kind(reordered)) == len(result.changes.of_kind(reordered))
    assert plan_changes(previous, result.plan, rep_id, last=cut).size == 0
    assert all(c.why and "plan repair" not in c.why for c in result.changes.changes)
