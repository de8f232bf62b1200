"""A manager scoped to one region opens /territories in a real browser and sees only that
region's territory: one table row, its accounts on the map, no other territory named."""

from __future__ import annotations

from typing import Any

import pytest

from routeplanner.model import Region
from routeplanner.model.history import OwnershipCause
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.engine import make_engine, migrate, session_factory
from tests.browser.conftest import LiveServer, log_in_page
from tests.conftest import add_user
from tests.web.test_territories_page import nearest_home_split, territory_region

pytestmark = [pytest.mark.browser, pytest.mark.osm]


@pytest.fixture
def store(settings: Settings) -> Store:
    """The territories page's sample split, its first territory in region NORD and the others
    in SUED; manager nora manages NORD."""
    migrate(settings.database_url)
    store = Store(session_factory(make_engine(settings.database_url)))
    accounts, reps = territory_region()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    split = nearest_home_split(accounts, reps)
    store.territories.save(split, cause=OwnershipCause.IMPORT, user="seed", replace_all=True)
    first, *others = sorted(t.territory_id for t in split)
    store.regions.replace_all(
        [
            Region(region_id="NORD", name="Nord", territory_ids=(first,)),
            Region(region_id="SUED", name="Sued", territory_ids=tuple(others)),
        ]
    )
    add_user(store, "nora", role="manager")
    nora = store.users.find("nora")
    assert nora is not None
    store.regions.set_user_regions(nora.user_id, ["NORD"])
    return store


def test_scoped_manager_sees_only_their_regions_territories(
    live_server: LiveServer, store: Store, phone_page: Any
) -> None:
    territories = {t.territory_id: t for t in store.territories.all()}
    mine = store.regions.all()[0].territory_ids[0]
    others = sorted(set(territories) - {mine})
    assert others  # the sample has several territories
    log_in_page(phone_page, live_server.url, "nora", "/territories")
    page = phone_page
    page.goto(f"{live_server.url}/territories")
    rows = page.locator("#territories tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.territory)"
    )
    assert rows == [mine]
    circles = page.locator("svg.territory-map circle.account").count()
    assert 0 < circles <= len(territories[mine].account_ids)
    text = page.locator("main").inner_text()
    for other in others:
        assert other not in text
    # the regions link shows nora her own region only
    page.goto(f"{live_server.url}/regions")
    assert page.locator("#regions tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.region)"
    ) == ["NORD"]
