"""The reads behind the performance dashboard give what the general reads give: the planned
routes' times equal the current plan's routes with stops, the last visit done per account
equals one found from every record, counting rows equal the full records, account facts equal
the accounts, and a bulk-stored history reads back as stored."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.storage import Store
from tests.web.rep_day_data import store_world, today


def _history(store: Store) -> list[VisitRecord]:
    day = today() - timedelta(days=20)
    statuses = [VisitStatus.DONE, VisitStatus.MISSED, VisitStatus.CHECKED_IN, VisitStatus.DONE]
    return [
        VisitRecord(
            account_id=account,
            rep_id="R1",
            day=day + timedelta(days=3 * i + n),
            status=status,
            visit_id=f"{account}@{i}",
            recorded_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i),
            order_value=10.0 * i if status is VisitStatus.DONE else None,
        )
        for n, account in enumerate(("A1", "A2", "A3"))
        for i, status in enumerate(statuses)
    ]


def test_route_times_equal_the_current_plans_routes(store: Store) -> None:
    store_world(store, today())
    current = store.plans.current()
    assert current is not None
    start, end = today() - timedelta(days=1), today() + timedelta(days=6)
    want = sorted(
        (r.rep_id, r.end_s - r.start_s, r.travel_s)
        for r in current[1].routes
        if r.stops and start <= r.day <= end
    )
    assert want
    assert sorted(store.plans.current_route_times(start, end)) == want


def test_counting_reads_equal_the_full_records(store: Store) -> None:
    history = _history(store)
    assert store.visits.record_all(history) == len(history)
    found = store.visits.find()
    assert [dataclasses.replace(r, record_id=0) for r in found] == [
        dataclasses.replace(r, record_id=0) for r in sorted(history, key=lambda r: r.day)
    ]
    start, end = today() - timedelta(days=15), today()
    light = store.visits.for_figures(start, end)
    full = [r for r in found if start <= r.day <= end]
    assert [
        (r.record_id, r.account_id, r.rep_id, r.day, r.status, r.visit_id, r.order_value)
        for r in light
    ] == [
        (r.record_id, r.account_id, r.rep_id, r.day, r.status, r.visit_id, r.order_value)
        for r in full
    ]
    untils = [today() - timedelta(days=12), today()]
    done = (VisitStatus.DONE, VisitStatus.CHECKED_IN)
    for until, last in zip(untils, store.visits.last_done(untils), strict=True):
        want: dict[str, date] = {}
        for r in found:
            if r.status in done and r.day <= until:
                want[r.account_id] = max(r.day, want.get(r.account_id, r.day))
        assert last == want


def test_account_facts_equal_the_accounts(store: Store) -> None:
    accounts = store.accounts.all()
    facts = store.accounts.facts()
    assert [(f.account_id, f.value_class, f.visit_rule, f.last_visit) for f in facts] == [
        (a.account_id, a.value_class, a.visit_rule, a.last_visit) for a in accounts
    ]
    sizes: dict[str, int] = {}
    for a in accounts:
        sizes[a.value_class] = sizes.get(a.value_class, 0) + 1
    assert store.accounts.class_sizes() == sizes
