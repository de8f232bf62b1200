"""Every id placed in a URL is quoted completely: a path segment cannot become several, and a
query value cannot change meaning (``+`` is not a space)."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from routeplanner.model import Horizon, Plan, Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.storage import Store
from tests.conftest import small_region
from tests.web.test_route_page import DAY, _store_plan

STORED_BEFORE_THE_RULE = "../users/3/tokens/2/revoke"


def test_an_account_id_is_one_path_segment_in_every_link(client: TestClient, store: Store) -> None:
    """An id stored before ids were checked must not turn its edit form into another action."""
    account = store.accounts.get("A1")
    assert account is not None
    store.accounts.upsert(
        [dataclasses.replace(account, account_id=STORED_BEFORE_THE_RULE)], source="old"
    )
    html = client.get("/accounts").text
    quoted = "..%2Fusers%2F3%2Ftokens%2F2%2Frevoke"
    assert f'action="/accounts/{quoted}"' in html
    assert f'href="/accounts/{quoted}"' in html
    assert f"/accounts/{STORED_BEFORE_THE_RULE}" not in html


def test_safe_punctuation_is_quoted_too(client: TestClient, store: Store) -> None:
    accounts, reps = small_region()
    plus = dataclasses.replace(reps[0], rep_id="R+1")
    odd = dataclasses.replace(accounts[0], account_id="A:1@x", locked_rep_id=None)
    replace_accounts_and_reps(store, [odd, *accounts[1:]], [*reps, plus], source="test")
    store.territories.save(
        [Territory(territory_id="T:1", name="Nord", rep_id="R1", account_ids=("A:1@x",))],
        cause=OwnershipCause.MANUAL,
        replace_all=True,
    )
    accounts_page = client.get("/accounts").text
    assert 'action="/accounts/A%3A1%40x"' in accounts_page
    territories_page = client.get("/territories").text
    assert 'action="/territories/lock/T%3A1"' in territories_page
    _store_plan(store)
    plan = store.plans.current()
    assert plan is not None
    moved = Plan(routes=tuple(dataclasses.replace(r, rep_id="R+1") for r in plan[1].routes))
    plan_id = store.plans.start(Horizon(start=DAY, weeks=1))
    store.plans.complete(plan_id, moved)
    route = client.get(f"/route?rep=R%2B1&day={DAY.isoformat()}").text
    assert f"rep=R%2B1&amp;day={DAY.isoformat()}" in route
