"""Imports and account edits, users and calendar feeds as use cases on a real SQLite store."""

from __future__ import annotations

from datetime import date

import pytest

from routeplanner.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    RoadNetworkError,
)
from routeplanner.model import GeoPoint, Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services import imports, users
from routeplanner.services.calendar import CalendarFeeds, ExportParams, export_range, feed_user
from routeplanner.services.imports import AccountEdit
from routeplanner.services.scope import Scope
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.travel.provider import TravelTimeProvider
from tests.assignment.factories import account

ALL = Scope.everything()

# -- accounts ----------------------------------------------------------------------------------


def test_an_edit_is_validated_as_an_import_and_keeps_custom_gaps(store: Store) -> None:
    a1 = store.accounts.get("A1")
    assert a1 is not None
    edited = imports.edit_account(
        store,
        "A1",
        AccountEdit(frequency=str(a1.visit_rule), visit_minutes="45"),
        source="t",
        scope=ALL,
    )
    assert (edited.visit_rule, edited.visit_duration_s) == (a1.visit_rule, 45 * 60)
    with pytest.raises(InputError) as exc:
        imports.edit_account(
            store, "A1", AccountEdit(locked_rep="R9", frequency="x"), source="t", scope=ALL
        )
    assert {(p.source, p.field) for p in exc.value.problems} == {
        ("A1", "frequency"),
        ("A1", "locked_rep"),
    }
    assert store.accounts.get("A1") == edited  # nothing stored
    with pytest.raises(NotFoundError, match="account 'A9' not found"):
        imports.edit_account(store, "A9", AccountEdit(visit_minutes="5"), source="t", scope=ALL)


def _bulk(store: Store, ids: list[str], edit: AccountEdit) -> imports.BulkPreview:
    preview = imports.preview_bulk_edit(store, ids, edit, ALL)
    return imports.apply_bulk_edit(store, ids, edit, digest=preview.digest, scope=ALL)


def test_a_bulk_edit_is_all_or_nothing(store: Store) -> None:
    edit = AccountEdit.bulk("", "20", "R1", "")
    applied = _bulk(store, ["A1", "A2"], edit)
    assert {a.account_id for a in applied.edited} == {"A1", "A2"}
    assert all(a.locked_rep_id == "R1" for a in store.accounts.all() if a.account_id != "A3")
    with pytest.raises(InputError, match="select accounts and give"):
        imports.preview_bulk_edit(store, ["A1"], AccountEdit(), ALL)
    cleared = _bulk(store, ["A1"], AccountEdit.bulk("", "", imports.NO_VALUE, ""))
    assert cleared.edited[0].locked_rep_id is None


def test_a_bulk_preview_lists_each_change_and_stores_nothing(store: Store) -> None:
    before = store.accounts.all()
    a1 = store.accounts.get("A1")
    assert a1 is not None
    minutes = str(a1.visit_duration_s // 60)
    preview = imports.preview_bulk_edit(
        store, ["A2", "A1"], AccountEdit.bulk("", minutes, "", ""), ALL
    )
    assert store.accounts.all() == before
    assert preview.account_ids == ("A1", "A2")
    changed = {c.account_id: c.fields for c in preview.changes}
    assert "A1" not in changed  # A1 has these minutes already
    assert preview.unchanged == 1
    assert changed["A2"] == (imports.FieldChange("visit_minutes", "45", minutes),)
    with pytest.raises(InputError, match="no such account: A9") as exc:
        imports.preview_bulk_edit(store, ["A1", "A9"], AccountEdit(visit_minutes="20"), ALL)
    assert exc.value.problems[0].field == "ids"


def test_a_bulk_apply_refuses_a_stale_preview(store: Store) -> None:
    edit = AccountEdit(visit_minutes="25")
    preview = imports.preview_bulk_edit(store, ["A1", "A2"], edit, ALL)
    imports.edit_account(store, "A2", AccountEdit(visit_minutes="50"), source="t", scope=ALL)
    before = store.accounts.all()
    with pytest.raises(ConflictError, match="changed since the preview"):
        imports.apply_bulk_edit(store, ["A1", "A2"], edit, digest=preview.digest, scope=ALL)
    with pytest.raises(ConflictError):  # another edit than the one previewed
        imports.apply_bulk_edit(
            store, ["A1", "A2"], AccountEdit(visit_minutes="26"), digest=preview.digest, scope=ALL
        )
    assert store.accounts.all() == before


def test_added_accounts_get_a_territory_by_straight_line_without_roads(store: Store) -> None:
    store.territories.save(
        [Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1",))],
        cause=OwnershipCause.MANUAL,
        replace_all=True,
    )

    def no_roads() -> TravelTimeProvider:
        msg = "x.osm.pbf: OSM file not found"
        raise RoadNetworkError(msg)

    new = account("N1", GeoPoint(49.41, 8.69))
    result = imports.add_accounts(store, [new], no_roads, source="upload", scope=ALL, user="ann")
    assert result.travel_note.startswith("straight-line travel estimates")
    assert result.summary.accounts_added == 1
    owner = store.territories.current_ownership("N1")
    assert owner is not None
    assert (owner.territory_id, owner.cause, owner.changed_by) == (
        "T1",
        OwnershipCause.IMPORT,
        "ann",
    )
    assert imports.stored_account_ids(store, {"N1", "N2"}) == {"N1"}


def test_account_rows_show_owner_reason_and_overdue(store: Store) -> None:
    store.territories.save(
        [Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1",))],
        cause=OwnershipCause.MANUAL,
        user="ann",
        replace_all=True,
    )
    rows = {
        r.account.account_id: r for r in imports.account_rows(store, ALL, today=date(2026, 1, 5))
    }
    assert (rows["A1"].territory, rows["A1"].rep, rows["A1"].reason) == (
        "T1",
        "R1",
        "manual change by ann",
    )
    assert rows["A2"].territory == ""


# -- users ---------------------------------------------------------------------------------------


def test_a_new_login_lists_every_problem_at_once(store: Store) -> None:
    store.users.create("anna", "x", role="manager")
    fields = {"username": "anna", "role": "rep", "rep": "R9", "password": "short", "confirm": ""}
    with pytest.raises(InputError) as exc:
        users.create_user(store, fields, source="user form")
    assert [(p.field, p.message) for p in exc.value.problems] == [
        ("password", "must have at least 8 characters"),
        ("username", "user 'anna' already exists"),
        ("rep", "no rep 'R9'"),
    ]
    fields = {
        "username": "jw",
        "role": "rep",
        "rep": "R1",
        "password": " long enough ",
        "confirm": " long enough ",
    }
    created = users.create_user(store, fields, source="user form")
    assert (created.role, created.rep_id) == ("rep", "R1")


def test_managers_cannot_disable_themselves_and_tokens_are_theirs(store: Store) -> None:
    boss = store.users.create("boss", "x", role="manager")
    with pytest.raises(InputError, match="you cannot disable yourself"):
        users.set_active(store, boss.user_id, False, by=boss)
    target, token = users.issue_api_token(store, boss.user_id, "ci")
    assert target == boss
    assert len(token) == 43
    with pytest.raises(NotFoundError, match="token 999 not found"):
        users.revoke_api_token(store, boss.user_id, 999)
    with pytest.raises(NotFoundError, match="user 999 not found"):
        users.reset_password(store, 999, "long enough", None)
    rows = users.users(store)
    assert [len(r.tokens) for r in rows] == [1]


def test_reps_see_only_their_own_routes(store: Store) -> None:
    rep_user = store.users.create("jw", "x", role="rep", rep_id="R1")
    assert users.allowed_rep(rep_user, None, ALL) == "R1"
    with pytest.raises(PermissionDeniedError):
        users.allowed_rep(rep_user, "R2", ALL)
    with pytest.raises(PermissionDeniedError, match="only managers"):
        users.require_manager(rep_user)


# -- calendar ------------------------------------------------------------------------------------


def test_exports_check_the_range_and_who_asks(store: Store, settings: Settings) -> None:
    feeds = CalendarFeeds(store, settings)
    with pytest.raises(InputError, match="to: must not be before the first day"):
        ExportParams.from_text({"rep": "R1", "from": "2026-11-30", "to": "2026-11-23"}, source="q")
    params = ExportParams(rep="R1")
    rep_obj, feed = export_range(feeds, params, base_url="http://x")
    assert (rep_obj.rep_id, feed.events) == ("R1", 0)  # no plan yet: an empty calendar
    other = store.users.create("other", "x", role="rep", rep_id="R2")
    with pytest.raises(PermissionDeniedError):
        export_range(feeds, params, base_url="http://x", user=other)
    with pytest.raises(NotFoundError, match="no rep 'R9'"):
        export_range(feeds, ExportParams(rep="R9"), base_url="http://x")
    with pytest.raises(PermissionDeniedError, match="only admins manage the team feed"):
        feed_user(feeds, rep=None, team=True, by=other)
    assert feed_user(feeds, rep="R1").username == "calendar-R1"
