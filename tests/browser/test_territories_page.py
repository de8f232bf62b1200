"""A manager realigns territories in a real browser: progress, options, apply, table changes.

Screenshots of each step go to ``test-output/screenshots/`` (or ``$TEST_OUTPUT_DIR``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from routeplanner.model import Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services import territories as territory_service
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.engine import make_engine, migrate, session_factory
from tests.browser.conftest import LiveServer
from tests.helpers import REPO
from tests.web.test_territories_page import nearest_home_split, territory_region

pytestmark = [pytest.mark.browser, pytest.mark.osm]


def screenshot_dir() -> Path:
    out = Path(os.environ.get("TEST_OUTPUT_DIR", REPO / "test-output")) / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def store(settings: Settings) -> Store:
    migrate(settings.database_url)
    store = Store(session_factory(make_engine(settings.database_url)))
    accounts, reps = territory_region()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    split = nearest_home_split(accounts, reps)
    store.territories.save(split, cause=OwnershipCause.IMPORT, user="seed", replace_all=True)
    return store


def _counts(page: Any) -> dict[str, str]:
    ids = page.locator("#territories tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.territory, r.querySelector('td.accounts').innerText])"
    )
    return dict(ids)


def test_manager_realigns_and_applies_an_option(
    live_server: LiveServer,
    store: Store,
    manager_page: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = manager_page
    shots = screenshot_dir()
    # Hold the (real) job at 30 % until the test has seen the progress, so a fast machine
    # cannot finish it before the page shows it.
    release = threading.Event()
    real = territory_service.propose

    def held(inputs: Any, travel: Any, params: Any, progress: Any, **options: Any) -> Any:
        while not release.wait(0.05):
            progress("waiting for the browser test", 0.3)
        return real(inputs, travel, params, progress, **options)

    monkeypatch.setattr(territory_service, "propose", held)
    before: list[Territory] = store.territories.all()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    page.goto(f"{live_server.url}/territories")
    assert page.title() == "Territories · routeplanner"
    assert page.locator("svg.territory-map circle.account").count() == 17  # + A3, off the map
    counts_before = _counts(page)
    assert counts_before == {t.territory_id: str(len(t.account_ids)) for t in before}
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(shots / "territories.png"), full_page=True)

    form = page.locator("#realign-form")
    form.locator('input[name="max_moves"]').fill("4")
    form.locator('input[name="time_limit_s"]').fill("2")
    form.locator('button[type="submit"]').click()
    # The page may render before the job thread first reports; its polling then shows 30 %.
    page.wait_for_selector("#territory-progress:has-text('30 %')", timeout=30_000)
    assert page.locator("#territory-run button", has_text="Cancel").count() == 1
    page.screenshot(path=str(shots / "territories-progress.png"), full_page=True)
    assert store.territories.all() == before

    release.set()
    page.wait_for_selector("#territory-options article.option", timeout=120_000)
    assert store.territories.all() == before  # nothing changes until apply
    options = page.locator("#territory-options article.option")
    assert options.count() >= 2  # side by side: stable ... fair
    moved = [int(m) for m in page.locator("#territory-options td.moved").all_inner_texts()]
    assert max(moved) <= 4
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(shots / "territories-options.png"), full_page=True)

    pick = moved.index(max(moved))
    assert moved[pick] > 0
    options.nth(pick).locator("button.apply").click()
    page.wait_for_selector("#territory-options h2:has-text('applied by boss')")
    page.screenshot(path=str(shots / "territories-applied.png"), full_page=True)
    after = store.territories.all()
    assert after != before
    counts_after = _counts(page)
    assert counts_after == {t.territory_id: str(len(t.account_ids)) for t in after}
    assert counts_after != counts_before  # the table shows the new split
    assert all(u.startswith(live_server.url) for u in requests)  # offline map, no tiles
    page.set_viewport_size({"width": 1280, "height": 900})  # a manager's desk: options side by side
    page.goto(f"{live_server.url}/territories")
    page.screenshot(path=str(shots / "territories-desktop.png"), full_page=True)
