"""A feed shows what is stored now: renaming or moving an account changes the feed and its ETag
at once, not at the next plan version; a rep's feed shows that rep only, whoever holds it."""

from __future__ import annotations

import dataclasses

import icalendar
from fastapi.testclient import TestClient

from routeplanner.auth import hash_password
from routeplanner.model import GeoPoint
from routeplanner.storage import Store, TokenKind, UserRole, hash_token
from tests.calendar.conftest import Clock, plan_v1, store_plan
from tests.calendar.test_web_calendar import _new_url, _path, _summaries


def _events(text: str) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(text).walk("VEVENT"))


def test_a_renamed_and_moved_account_shows_at_once_with_a_new_etag(
    cal_client: TestClient, cal_store: Store, clock: Clock
) -> None:
    store_plan(cal_store, plan_v1())
    url = _path(_new_url(cal_client, rep="R1"))
    before = cal_client.get(url)
    etag = before.headers["etag"]
    assert "Apotheke am Bismarckplatz" in _summaries(before.text)

    clock.advance(minutes=5)
    account = cal_store.accounts.get("A2")
    assert account is not None
    moved = dataclasses.replace(
        account,
        name="Apotheke am Hauptbahnhof",
        address="Willy-Brandt-Platz 1, Heidelberg",
        location=GeoPoint(49.4036, 8.6756),
    )
    cal_store.accounts.upsert([moved], source="crm")

    after = cal_client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200  # not 304: what the feed shows has changed
    assert after.headers["etag"] != etag
    assert "Apotheke am Hauptbahnhof" in _summaries(after.text)
    assert "Apotheke am Bismarckplatz" not in _summaries(after.text)
    changed = [e for e in _events(after.text) if str(e["SUMMARY"]) == "Apotheke am Hauptbahnhof"]
    assert changed
    for event in changed:
        assert str(event["LOCATION"]) == "Willy-Brandt-Platz 1, Heidelberg"
        assert event.decoded("SEQUENCE") == 1  # calendar apps take the update
        assert event.decoded("LAST-MODIFIED") == clock.now
    unchanged = [e for e in _events(after.text) if str(e["SUMMARY"]) != "Apotheke am Hauptbahnhof"]
    assert all(e.decoded("SEQUENCE") == 0 for e in unchanged)
    # and once seen, the new state is stable: same ETag, 304
    again = cal_client.get(url, headers={"If-None-Match": after.headers["etag"]})
    assert again.status_code == 304


def test_a_change_elsewhere_leaves_the_feed_as_it_was(
    cal_client: TestClient, cal_store: Store, clock: Clock
) -> None:
    store_plan(cal_store, plan_v1())
    url = _path(_new_url(cal_client, rep="R1"))
    first = cal_client.get(url)
    clock.advance(minutes=5)
    other = cal_store.accounts.get("B1")
    assert other is not None
    cal_store.accounts.upsert([dataclasses.replace(other, notes="a note")], source="crm")
    second = cal_client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 304


def test_a_manager_attached_to_a_rep_gets_that_reps_feed_only(
    cal_client: TestClient, cal_store: Store
) -> None:
    """A rep feed token must never open the team feed, whatever user it is attached to."""
    store_plan(cal_store, plan_v1())
    cal_store.users.create("chefin", hash_password("a long password"), role=UserRole.MANAGER)
    chefin = cal_store.users.find("chefin")
    assert chefin is not None
    cal_store.users.update(chefin.user_id, rep_id="R1")  # a manager who is also rep R1
    url = _path(_new_url(cal_client, rep="R1"))
    summaries = _summaries(cal_client.get(url).text)
    assert "Other Rep's Kunde" not in summaries  # B1 is R2's
    assert summaries
    holder = next(
        u
        for u in cal_store.users.all()
        if any(t.active for t in cal_store.tokens.of_user(u.user_id))
    )
    assert holder.role is UserRole.REP
    assert holder.rep_id == "R1"


def test_an_old_rep_feed_token_of_a_manager_shows_that_rep_only(
    cal_client: TestClient, cal_store: Store
) -> None:
    """Tokens issued to a manager attached to a rep before this rule open that rep's feed."""
    store_plan(cal_store, plan_v1())
    chefin = cal_store.users.create(
        "chefin", hash_password("a long password"), role=UserRole.MANAGER
    )
    cal_store.users.update(chefin.user_id, rep_id="R1")
    cal_store.tokens.create(chefin.user_id, TokenKind.CALENDAR, hash_token("old-token"))
    summaries = _summaries(cal_client.get("/calendar/old-token.ics").text)
    assert summaries
    assert "Other Rep's Kunde" not in summaries
