"""Real uvicorn on a free port and Debian's Chromium via Playwright (never a downloaded one)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn

from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.web.app import create_app
from tests.conftest import MANAGER_PASSWORD, add_user
from tests.helpers import require

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class LiveServer:
    """uvicorn in a background thread; stopped (and joined) by the fixture.

    The server gets a socket already bound to a free port, so parallel test processes can
    never pick the same port between choosing and binding it.
    """

    def __init__(self, settings: Settings) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port: int = self.socket.getsockname()[1]
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                msg = "uvicorn did not start within 30 s"
                raise RuntimeError(msg)
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@pytest.fixture
def live_server(settings: Settings, store: Any) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    require(CHROMIUM.exists(), "/usr/bin/chromium (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - depends on the machine
        require(False, "the playwright Python package")
        raise
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone_page(chromium: Any) -> Iterator[Any]:
    """A 390 px wide touch page, the size of a common phone."""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


def log_in_page(page: Any, base_url: str, username: str, next_path: str = "") -> None:
    """Log in through the real form, as a user would."""
    page.goto(f"{base_url}/login" + (f"?next={quote(next_path)}" if next_path else ""))
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', MANAGER_PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(lambda url: "/login" not in url)


def wait_until(page: Any, expression: str, seconds: float = 30.0) -> None:
    """Poll a JavaScript ``expression`` until it is truthy. ``page.wait_for_function`` with a
    string compiles it inside the page, which our strict CSP forbids once it has to poll;
    ``page.evaluate`` goes through the browser's debugging protocol, outside the CSP."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for: {expression}"
        time.sleep(0.1)


@pytest.fixture
def manager_page(live_server: LiveServer, store: Store, phone_page: Any) -> Any:
    """The phone page, logged in as a manager (who sees every page)."""
    add_user(store, "boss")
    log_in_page(phone_page, live_server.url, "boss")
    return phone_page
