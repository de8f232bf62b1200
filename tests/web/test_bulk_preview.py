"""Bulk edit on the accounts page in two steps: a preview (each changed field before → after,
how many stay as they are) that stores nothing, then an apply of exactly that preview, refused
with 409 when the accounts changed in between."""

from __future__ import annotations

import re
from dataclasses import replace

from fastapi.testclient import TestClient

from routeplanner.storage import Store
from tests.conftest import form_csrf
from tests.web.bulk_edit import apply_fields, post_apply, preview


def _changes(html: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(account, field) -> (before, after) as the preview table shows them."""
    rows = re.findall(
        r'<tr data-change="([^"]+)" data-field="([^"]+)">.*?<span class="before">(.*?)</span>'
        r' → <span class="after">(.*?)</span>',
        html,
        flags=re.S,
    )
    return {(a, f): (b, c) for a, f, b, c in rows}


def test_the_preview_shows_each_change_and_stores_nothing(client: TestClient, store: Store) -> None:
    before = store.accounts.all()
    data = {"ids": ["A1", "A2", "A3"], "visit_minutes": "30", "locked_rep": "R1"}
    response = preview(client, data)
    assert response.status_code == 200
    assert store.accounts.all() == before
    changes = _changes(response.text)
    # A1 and A3 take 30 minutes already; A2 takes 45; none is locked
    assert changes == {
        ("A1", "locked_rep"): ("(none)", "R1"),
        ("A2", "locked_rep"): ("(none)", "R1"),
        ("A2", "visit_minutes"): ("45", "30"),
        ("A3", "locked_rep"): ("(none)", "R1"),
    }
    assert "3 of 3 selected accounts change, 0 unchanged" in response.text
    # the edit and the selection stay in the form to change and preview again
    assert 'name="visit_minutes" size="4" inputmode="numeric" value="30"' in response.text
    assert response.text.count('form="bulk" aria-label="Select A1" checked') == 1
    only_minutes = preview(client, {"ids": ["A1", "A3"], "visit_minutes": "30"})
    assert "0 of 2 selected accounts change, 2 unchanged" in only_minutes.text
    assert apply_fields(only_minutes.text) == []  # nothing to apply
    assert store.accounts.all() == before


def test_apply_stores_exactly_the_previewed_changes(client: TestClient, store: Store) -> None:
    before = {a.account_id: a for a in store.accounts.all()}
    shown = preview(client, {"ids": ["A1", "A2"], "visit_minutes": "30", "requires": "medical"})
    fields = apply_fields(shown.text)
    assert ("ids", "A1") in fields
    assert ("ids", "A2") in fields
    answer = post_apply(client, fields)
    assert answer.status_code == 303
    assert "saved=2+accounts+saved%2C+0+unchanged" in answer.headers["location"]
    after = {a.account_id: a for a in store.accounts.all()}
    expected = {
        "A1": replace(before["A1"], required_qualifications=frozenset({"medical"})),
        "A2": replace(
            before["A2"], visit_duration_s=30 * 60, required_qualifications=frozenset({"medical"})
        ),
        "A3": before["A3"],
    }
    assert after == expected
    # the same apply again: its preview no longer matches what is stored
    again = post_apply(client, fields)
    assert again.status_code == 409
    assert store.accounts.all() == list(expected.values())


def test_a_change_after_the_preview_is_refused_with_409(client: TestClient, store: Store) -> None:
    shown = preview(client, {"ids": ["A1", "A2"], "visit_minutes": "20"})
    fields = apply_fields(shown.text)
    a2 = store.accounts.get("A2")
    assert a2 is not None
    store.accounts.upsert([replace(a2, visit_duration_s=50 * 60)], source="someone else")
    between = store.accounts.all()
    answer = post_apply(client, fields)
    assert answer.status_code == 409
    assert "changed since the preview; nothing was stored" in answer.text
    assert store.accounts.all() == between
    # the answer previews the edit on today's accounts, ready to apply
    assert _changes(answer.text)[("A2", "visit_minutes")] == ("50", "20")
    fresh = apply_fields(answer.text)
    assert fresh != fields
    assert post_apply(client, fresh).status_code == 303
    assert {a.visit_duration_s for a in store.accounts.all() if a.account_id != "A3"} == {1200}


def test_a_deleted_account_or_an_altered_edit_is_refused(client: TestClient, store: Store) -> None:
    shown = preview(client, {"ids": ["A1", "A3"], "visit_minutes": "20"})
    fields = apply_fields(shown.text)
    before = store.accounts.all()
    altered = [(k, "25" if k == "visit_minutes" else v) for k, v in fields]
    assert post_apply(client, altered).status_code == 409
    fewer = [(k, v) for k, v in fields if (k, v) != ("ids", "A3")]
    assert post_apply(client, fewer).status_code == 409
    assert store.accounts.all() == before
    store.accounts.delete(["A3"])
    gone = post_apply(client, fields)
    assert gone.status_code == 409
    assert "no such account: A3" in gone.text  # the new preview names why it cannot be done


def test_bad_input_is_named(client: TestClient, store: Store) -> None:
    before = store.accounts.all()
    unknown = preview(client, {"ids": ["A1", "<b>X9</b>"], "visit_minutes": "20"})
    assert unknown.status_code == 422
    assert "ids: no such account: &lt;b&gt;X9&lt;/b&gt;" in unknown.text
    assert "<b>X9" not in unknown.text
    nothing = preview(client, {"ids": ["A1"]})
    assert nothing.status_code == 422
    assert "select accounts and give a frequency" in nothing.text
    no_digest = client.post("/accounts/bulk", data={"ids": ["A1"], "visit_minutes": "20"})
    assert no_digest.status_code == 422
    assert "digest: preview the bulk edit before applying it" in no_digest.text
    too_long = preview(client, {"ids": ["A1"], "frequency": "w" * 201})
    assert too_long.status_code == 422
    assert store.accounts.all() == before


def test_names_are_escaped_and_posts_need_the_csrf_token(client: TestClient, store: Store) -> None:
    a1 = store.accounts.get("A1")
    assert a1 is not None
    store.accounts.upsert([replace(a1, name='<script>alert("x")</script>')], source="test")
    shown = preview(client, {"ids": ["A1"], "visit_minutes": "20"})
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in shown.text
    assert "<script>alert" not in shown.text
    fields = apply_fields(shown.text)
    del client.headers["X-CSRF-Token"]
    assert preview(client, {"ids": ["A1"], "visit_minutes": "20"}).status_code == 403
    assert post_apply(client, [(k, v) for k, v in fields if k != "csrf_token"]).status_code == 403
    assert post_apply(client, fields).status_code == 303  # the form's own token
    assert form_csrf(shown.text)
