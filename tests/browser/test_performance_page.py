"""The performance page in Debian's Chromium on a 390 px phone: a rep records an outcome with
one tap on the day page and sees the visit counted; a manager sees a flagged territory with
its reason and the link to act on it, each territory's weekly trend and a table's CSV
download; no page scrolls sideways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from routeplanner.io.tables import read_table_bytes
from routeplanner.model.performance import Target, TargetScope
from routeplanner.services import sales
from routeplanner.services.attribution import Month
from routeplanner.services.scope import Scope
from routeplanner.storage import Store
from tests.browser.conftest import LiveServer, log_in_page
from tests.conftest import add_user
from tests.web.rep_day_data import store_world, today

pytestmark = [pytest.mark.browser, pytest.mark.osm]


def _fits(page: Any) -> None:
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def _done(page: Any) -> int:
    return int(
        page.locator('#rep-kpis tr[data-id="R1"] td[data-kpi="done"]').inner_text().split()[0]
    )


def test_a_one_tap_outcome_is_counted(
    live_server: LiveServer, store: Store, phone_page: Any
) -> None:
    store_world(store, today())
    log_in_page(phone_page, live_server.url, "juergen")
    phone_page.goto(f"{live_server.url}/performance")
    before = _done(phone_page)
    phone_page.goto(f"{live_server.url}/route?rep=R1&day={today().isoformat()}")
    phone_page.locator("#stop-1 button.pick").first.tap()
    phone_page.wait_for_selector("#stop-1.finished")
    (record,) = store.visits.find()
    assert record.outcome == "order"
    phone_page.goto(f"{live_server.url}/performance")
    assert _done(phone_page) == before + 1
    assert phone_page.locator('tr[data-id="T2"]').count() == 0  # another rep's territory
    _fits(phone_page)


def test_a_manager_sees_a_flagged_territory(
    live_server: LiveServer, store: Store, phone_page: Any
) -> None:
    store_world(store, today())
    month = Month.of(today())
    csv = f"account_id,month,revenue\nA1,{month},100\nA3,{month},5000\n"
    sales.import_sales(
        store, read_table_bytes(csv.encode(), source="umsatz.csv"), Scope.everything()
    )
    store.targets.save(
        [Target(scope=TargetScope.TERRITORY, scope_id="T1", period=month.first, revenue=10_000)]
    )
    add_user(store, "boss")
    log_in_page(phone_page, live_server.url, "boss")
    phone_page.goto(f"{live_server.url}/performance")
    flagged = phone_page.locator('#territory-kpis tr.flagged[data-id="T1"]')
    assert flagged.count() == 1
    reason = flagged.locator("[data-flag]").inner_text()
    assert reason.startswith("revenue 99 % below target"), reason
    link = flagged.locator("td.flag a")
    assert link.get_attribute("href") in ("/accounts?territory=T1", "/territories?territory=T1")
    assert phone_page.locator("#ranking li").first.get_attribute("data-id") == "T2"
    assert phone_page.locator("#weekly-trend svg.chart").count() == 1
    trends = phone_page.locator("#territory-trends figure")
    assert [trends.nth(i).get_attribute("data-id") for i in range(trends.count())] == ["T1", "T2"]
    assert phone_page.locator('#territory-kpis tr[data-id="T1"] td[data-kpi="on-time"]').count()
    with phone_page.expect_download() as download:
        phone_page.locator('[data-export="territories"] a', has_text="CSV").click()
    assert download.value.suggested_filename == f"performance-territories-{month}.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("id,name,rep_id,")
    assert "coverage_on_time" in text.splitlines()[0]
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["T1", "T2"]
    _fits(phone_page)
