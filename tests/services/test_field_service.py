"""Field use cases on a real SQLite store: the report window, undo of a report within its
grace period, a rep's accounts and the progress of a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routeplanner.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from routeplanner.model.history import VisitStatus
from routeplanner.services import field, repair
from routeplanner.services.field import AccountSearch
from routeplanner.services.repair import VisitParams, reportable
from routeplanner.storage import Store
from routeplanner.storage.records import UserRecord
from tests.web.rep_day_data import store_world, today, visit


def _user(store: Store, name: str) -> UserRecord:
    found = store.users.find(name)
    assert found is not None
    return found


def test_reports_only_for_today_and_past_days_with_a_grace() -> None:
    day = today()
    assert reportable(day, day)
    assert reportable(day - timedelta(days=3), day)
    assert not reportable(day + timedelta(days=1), day)
    assert reportable(day + timedelta(days=1), day, grace_days=1)


def test_a_visit_still_to_come_is_refused_and_nothing_stored(store: Store) -> None:
    day = today()
    store_world(store, day)
    later = VisitParams(visit_id=visit("A1", day + timedelta(days=7)), status=VisitStatus.DONE)
    with pytest.raises(InputError, match="only days up to"):
        repair.record_visit(store, later, user=None, today=day)
    assert store.visits.find() == []
    early = VisitParams(
        visit_id=visit("A1", day + timedelta(days=7)), status=VisitStatus.DONE, grace_days=7
    )
    record = repair.record_visit(store, early, user=None, today=day)
    assert record.record_id > 0


def test_withdraw_a_missed_report_within_its_grace_only(store: Store) -> None:
    day = today()
    store_world(store, day)
    juergen, anna = _user(store, "juergen"), _user(store, "anna")
    missed = VisitParams(visit_id=visit("A1", day), status=VisitStatus.MISSED)
    record = repair.record_visit(store, missed, user=juergen, today=day)
    with pytest.raises(NotFoundError):
        repair.withdraw_report(store, record.record_id, user=anna, grace_s=30)
    late = datetime.now(UTC) + timedelta(seconds=31)
    with pytest.raises(ConflictError, match="too late"):
        repair.withdraw_report(store, record.record_id, user=juergen, grace_s=30, now=late)
    undone = repair.withdraw_report(store, record.record_id, user=juergen, grace_s=30)
    assert undone.withdrawn_at is not None
    assert store.visits.find() == []
    with pytest.raises(ConflictError, match="undone already"):
        repair.withdraw_report(store, record.record_id, user=juergen, grace_s=30)
    done = repair.record_visit(
        store, VisitParams(visit_id=visit("A2", day), status=VisitStatus.DONE), user=juergen
    )
    with pytest.raises(ConflictError, match="only a missed or cancelled"):
        repair.withdraw_report(store, done.record_id, user=juergen, grace_s=30)


def test_accounts_of_a_rep_by_distance_and_progress(store: Store) -> None:
    day = today()
    store_world(store, day)
    juergen = _user(store, "juergen")
    near = AccountSearch(lat=49.4107, lon=8.6941)
    listed = field.rep_accounts(store, juergen, near)
    assert [item.account.account_id for item in listed] == ["A1", "A2"]
    assert listed[0].distance_m is not None
    assert listed[0].distance_m < 20
    with pytest.raises(PermissionDeniedError):
        field.rep_accounts(store, juergen, AccountSearch(rep="R2"))
    with pytest.raises(InputError):
        AccountSearch(lat=49.4)
    with pytest.raises(PermissionDeniedError):
        field.account_card(store, "A3", juergen, today=day)
    current = store.plans.current()
    assert current is not None
    route = next(r for r in current[1].routes if r.rep_id == "R1" and r.day == day)
    repair.record_visit(
        store, VisitParams(visit_id=visit("A2", day), status=VisitStatus.DONE), user=juergen
    )
    _, reported = repair.stop_reasons(store, current[1], route, {}, today=day)
    progress = field.day_progress(route, reported)
    assert (progress.done, progress.total, progress.finished) == (1, 2, 1)
