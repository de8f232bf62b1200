"""A manager changes a visit frequency on /accounts, re-plans on /plan and sees the change in
the week grid, in Debian's Chromium. Screenshots go to ``test-output/screenshots/``."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from routeplanner.model import VisitRule
from routeplanner.services.planning import next_monday
from routeplanner.storage import Store
from tests.browser.conftest import LiveServer, log_in_page
from tests.conftest import add_user

pytestmark = [pytest.mark.browser, pytest.mark.osm, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def _screenshots() -> Path:
    out = Path(os.environ.get("TEST_OUTPUT_DIR", REPO / "test-output")) / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _plan_one_week(page: Any, base_url: str) -> int:
    """Start planning from the form and wait for the page to stop refreshing; visits in week 1."""
    page.goto(f"{base_url}/plan")
    form = page.locator('form[action="/plan/start"]')
    form.locator('input[name="start"]').fill(next_monday("Europe/Berlin").isoformat())
    form.locator('input[name="weeks"]').fill("1")
    form.locator('input[name="time_limit_s"]').fill("0.5")
    form.locator('button[type="submit"]').click()
    # The page refreshes itself while the job runs; the week grid appears when it is done.
    page.wait_for_selector("#plan-week", timeout=120_000)
    # (a selector, not a JavaScript predicate: the page's policy forbids evaluating strings)
    page.wait_for_selector("meta[http-equiv=refresh]", state="detached", timeout=120_000)
    cells = page.locator("#plan-week td a").all_inner_texts()
    return sum(int(re.match(r"(\d+) visits", c).group(1)) for c in cells)  # type: ignore[union-attr]


def test_manager_changes_a_frequency_replans_and_sees_more_visits(
    live_server: LiveServer, store: Store, chromium: Any
) -> None:
    add_user(store, "boss")
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in_page(page, live_server.url, "boss")

    before = _plan_one_week(page, live_server.url)
    first_plan = store.plans.current_id()
    assert first_plan is not None
    # A1 (Bäckerei Müller) is weekly: once in the week.
    assert before >= 1

    page.goto(f"{live_server.url}/accounts")
    row = page.locator('tr[data-account="A1"]')
    row.locator('input[name="frequency"]').fill("3 per week")
    row.locator('button[type="submit"]').click()
    shown = str(VisitRule.parse("3 per week"))
    page.wait_for_selector(f'tr[data-account="A1"] input[name="frequency"][value="{shown}"]')
    stored = store.accounts.get("A1")
    assert stored is not None
    assert stored.visit_rule == VisitRule.parse("3 per week")
    assert store.plans.current_id() == first_plan  # editing does not touch the plan

    after = _plan_one_week(page, live_server.url)
    page.screenshot(path=str(_screenshots() / "plan-after-frequency-change.png"), full_page=True)
    # Two more visits of A1 in the same week, and a new plan version is current.
    assert after == before + 2
    current = store.plans.current()
    assert current is not None
    assert current[0] != first_plan
    a1_days = {r.day for r in current[1].routes for s in r.stops if s.account_id == "A1"}
    assert len(a1_days) == 3
    context.close()
