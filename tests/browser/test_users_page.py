"""A manager manages users in the browser: create a rep login, issue and use an API token,
revoke it, disable the user. Screenshots go to ``test-output/screenshots/`` (or
``$TEST_OUTPUT_DIR``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from routeplanner.storage import Store
from tests.browser.conftest import LiveServer, log_in_page
from tests.conftest import add_user

pytestmark = [pytest.mark.browser, pytest.mark.osm]
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "ein sicheres Passwort"


def screenshot_dir() -> Path:
    out = Path(os.environ.get("TEST_OUTPUT_DIR", REPO / "test-output")) / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_manager_creates_a_rep_user_and_a_token(
    live_server: LiveServer, store: Store, chromium: Any
) -> None:
    add_user(store, "boss")
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    log_in_page(page, live_server.url, "boss")
    page.click('header nav a[href="/users"]')
    page.wait_for_url(f"{live_server.url}/users")
    form = page.locator("#create-user form")
    form.locator('input[name="username"]').fill("juergen")
    form.locator('select[name="role"]').select_option("rep")
    form.locator('select[name="rep"]').select_option("R1")
    form.locator('input[name="password"]').fill(PASSWORD)
    form.locator('input[name="confirm"]').fill(PASSWORD + "!")
    form.locator('button[type="submit"]').click()
    page.wait_for_selector("#user-errors")
    assert "confirm: does not match the password" in page.locator("#user-errors").inner_text()
    assert form.locator('input[name="username"]').input_value() == "juergen"  # kept
    form.locator('input[name="password"]').fill(PASSWORD)
    form.locator('input[name="confirm"]').fill(PASSWORD)
    form.locator('button[type="submit"]').click()
    row = page.locator('tr[data-user="juergen"]')
    row.wait_for()
    assert row.locator("td").nth(1).inner_text() == "rep"
    assert row.locator("td").nth(2).inner_text() == "R1"
    assert row.locator("td.state").inner_text() == "active"

    row.locator('input[name="label"]').fill("Handy")
    row.locator(".new-token-form button").click()
    page.wait_for_selector("#new-token")
    token = page.locator("#token-value").inner_text()
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)
    page.screenshot(path=str(screenshot_dir() / "users-token.png"), full_page=True)
    api = context.request.get(
        f"{live_server.url}/api/v1/reps", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status == 200
    assert [r["id"] for r in api.json()] == ["R1"]  # a rep's token sees only the rep

    page.goto(f"{live_server.url}/users")
    assert token not in page.content()  # shown once
    row = page.locator('tr[data-user="juergen"]')
    assert "Handy" in row.locator("td.tokens").inner_text()
    row.locator(".token button").click()
    page.wait_for_url(f"{live_server.url}/users")
    assert "revoked" in page.locator('tr[data-user="juergen"] td.tokens').inner_text()
    revoked = context.request.get(
        f"{live_server.url}/api/v1/reps", headers={"Authorization": f"Bearer {token}"}
    )
    assert revoked.status == 401

    page.locator('tr[data-user="juergen"] button.disable').click()
    page.wait_for_url(f"{live_server.url}/users")
    state = page.locator('tr[data-user="juergen"] td.state')
    assert state.inner_text() == "disabled"
    page.screenshot(path=str(screenshot_dir() / "users.png"), full_page=True)
    assert all(u.startswith(live_server.url) for u in requests)  # nothing from the internet

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    rep_page = phone.new_page()
    rep_page.goto(f"{live_server.url}/login")
    rep_page.fill('input[name="username"]', "juergen")
    rep_page.fill('input[name="password"]', PASSWORD)
    rep_page.click('button[type="submit"]')
    assert "Wrong username or password." in rep_page.locator("main").inner_text()
    phone.close()
    context.close()
