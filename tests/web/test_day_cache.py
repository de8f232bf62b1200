"""The cached day page and API day: fresh right after a visit report or an account edit in
this server process, never shared between reps, and other processes' changes seen after the
TTL (``RP_DAY_CACHE_TTL_S``)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import text

from routeplanner.auth import new_api_token
from routeplanner.errors import InputError
from routeplanner.model import TimeWindow, WeeklyHours
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.engine import make_engine, session_factory
from routeplanner.web.app import create_app
from routeplanner.web.compression import accepts_gzip
from routeplanner.web.services import Services
from routeplanner.web.state import app_state
from tests.conftest import add_user, log_in
from tests.databases import MigratedSqlite
from tests.web.test_api_access import DAY, FOREIGN, OTHER, world  # noqa: F401 (fixture)

PAGE = f"/route?day={DAY.isoformat()}"
API = f"/api/v1/reps/R1/days/{DAY.isoformat()}"


@pytest.fixture
def settings(tmp_path: Path, road_cache_dir: Path, migrated_sqlite: MigratedSqlite) -> Settings:
    """A TTL far longer than any test: whatever changes the page here, the TTL did not."""
    return Settings(
        database_url=migrated_sqlite.copy(tmp_path / "web.sqlite"),
        osm_path=Path("/nonexistent.osm.pbf"),  # no roads: straight-line maps, fast
        cache_dir=road_cache_dir,
        day_cache_ttl_s=300,
    )


@pytest.fixture
def app_clients(settings: Settings, world: int) -> Iterator[tuple[TestClient, TestClient]]:  # noqa: F811
    """A rep and a manager on the same app (one server process, one cache)."""
    app = create_app(settings)
    with TestClient(app) as rep, TestClient(app) as boss:
        log_in(rep, "juergen")
        log_in(boss, "boss")
        yield rep, boss


@pytest.fixture(autouse=True)
def _manager(store: Store) -> None:
    add_user(store, "boss")


def test_a_visit_report_shows_at_once(app_clients: tuple[TestClient, TestClient]) -> None:
    rep, _ = app_clients
    first = rep.get(PAGE).text
    assert first == rep.get(PAGE).text  # the second answer came from the cache
    assert "visit-status" not in first.split('class="visit-log"')[0]
    assert rep.get(API).json()["stops"][1]["status"] is None
    form = {"visit_id": f"A1@{DAY.isoformat()}", "status": "done", "rep": "R1"}
    response = rep.post("/route/visit", data={**form, "day": DAY.isoformat(), "at": "10:15"})
    assert response.status_code == 200, response.text
    assert f'data-visit="A1@{DAY.isoformat()}">done at 10:15</span>' in rep.get(PAGE).text
    assert rep.get(API).json()["stops"][1]["status"] == "done"


def test_an_account_edit_shows_at_once(app_clients: tuple[TestClient, TestClient]) -> None:
    rep, boss = app_clients
    assert "07:00-12:00" not in rep.get(PAGE).text
    assert rep.get(API).json()["stops"][1]["opening_hours"] != "07:00-12:00"
    edit = boss.patch("/api/v1/accounts/A1", json={"opening_hours": "Mo-Fr 07:00-12:00"})
    assert edit.status_code == 200, edit.text
    assert rep.get(API).json()["stops"][1]["opening_hours"] == "07:00-12:00"
    assert "07:00-12:00" in rep.get(PAGE).text


def test_a_rep_never_gets_another_reps_cached_answer(
    app_clients: tuple[TestClient, TestClient], store: Store
) -> None:
    rep, boss = app_clients
    foreign_page = f"/route?rep={OTHER}&day={DAY.isoformat()}"
    foreign_api = f"/api/v1/reps/{OTHER}/days/{DAY.isoformat()}"
    assert FOREIGN[1] in boss.get(foreign_page).text  # now cached for the manager
    assert boss.get(foreign_api).json()["stops"][0]["name"] == FOREIGN[1]
    assert rep.get(foreign_page).status_code == 403
    assert rep.get(foreign_api).status_code == 403
    assert FOREIGN[1] not in rep.get(PAGE).text
    user = store.users.find("juergen")
    assert user is not None
    bearer = {"Authorization": f"Bearer {new_api_token(store, user, label='test')}"}
    with TestClient(rep.app) as token_client:
        assert token_client.get(foreign_api, headers=bearer).status_code == 403
        assert token_client.get(API, headers=bearer).json()["rep_id"] == "R1"


def test_another_process_is_seen_after_the_ttl(
    settings: Settings,
    store: Store,
    world: int,  # noqa: F811
) -> None:
    app = create_app(settings.model_copy(update={"day_cache_ttl_s": 0.2}))
    with TestClient(app) as rep:
        log_in(rep, "juergen")
        assert "Umbenannt GmbH" not in rep.get(PAGE).text
        other = Store(session_factory(make_engine(settings.database_url)))  # "another process"
        (account,) = [a for a in other.accounts.all() if a.account_id == "A1"]
        other.accounts.upsert([dataclasses.replace(account, name="Umbenannt GmbH")], source="cli")
        other.close()
        time.sleep(0.3)
        assert "Umbenannt GmbH" in rep.get(PAGE).text
        assert rep.get(API).json()["stops"][1]["name"] == "Umbenannt GmbH"


def _cached(app: FastAPI, rep_id: str, kind: str = "api day") -> list[tuple[object, ...]]:
    """The keys of the app's cached answers of ``rep_id``: API days, or (``kind="day page"``)
    day pages."""
    answers = app_state(app).services._answers
    found = []
    for k in answers:
        if not isinstance(k, tuple) or k[1][0] != kind:
            continue
        shows = k[1][1] if kind == "api day" else k[1][3].rep  # the rep of the page's request
        if shows == rep_id:
            found.append(k)
    return found


def test_a_visit_report_forgets_only_the_answers_showing_that_account(
    app_clients: tuple[TestClient, TestClient],
) -> None:
    """A report from a phone must not empty the whole cache: the other rep's answer is still
    the cached one afterwards, while the reporting rep's shows the report at once."""
    rep, boss = app_clients
    foreign_api = f"/api/v1/reps/{OTHER}/days/{DAY.isoformat()}"
    foreign = boss.get(foreign_api).content
    assert rep.get(API).json()["stops"][1]["status"] is None
    before = _cached(rep.app, OTHER)
    form = {"visit_id": f"A1@{DAY.isoformat()}", "status": "done", "at": "10:15"}
    assert rep.post("/route/visit", data={**form, "day": DAY.isoformat()}).status_code == 200
    assert rep.get(API).json()["stops"][1]["status"] == "done"
    assert boss.get(foreign_api).content == foreign
    assert _cached(rep.app, OTHER) == before != []  # answered from the same entry


def _cache_both_reps(rep: TestClient, boss: TestClient) -> dict[str, bytes]:
    """Each rep's day page and API day, now cached; the answers by URL."""
    answers = {PAGE: rep.get(PAGE).content, API: rep.get(API).content}
    for url in (FOREIGN_PAGE, FOREIGN_API):
        answers[url] = boss.get(url).content
    return answers


FOREIGN_PAGE = f"/route?rep={OTHER}&day={DAY.isoformat()}"
FOREIGN_API = f"/api/v1/reps/{OTHER}/days/{DAY.isoformat()}"


def test_an_account_edit_forgets_only_the_answers_showing_that_account(
    app_clients: tuple[TestClient, TestClient],
) -> None:
    """An edit must not empty the whole cache: the answers of the rep whose accounts did not
    change are still the cached entries afterwards, while those showing the edited account
    show the edit as soon as it is acknowledged."""
    rep, boss = app_clients
    app = rep.app
    answers = _cache_both_reps(rep, boss)
    other = (_cached(app, OTHER), _cached(app, OTHER, "day page"))
    edit = boss.patch(f"/api/v1/accounts/{FOREIGN[0]}", json={"opening_hours": "Mo-Fr 07:00-12:00"})
    assert edit.status_code == 200, edit.text
    assert boss.get(FOREIGN_API).json()["stops"][0]["opening_hours"] == "07:00-12:00"
    assert "07:00-12:00" in boss.get(FOREIGN_PAGE).text
    mine = (_cached(app, "R1"), _cached(app, "R1", "day page"))
    assert rep.get(API).content == answers[API]
    assert rep.get(PAGE).content == answers[PAGE]
    assert (_cached(app, "R1"), _cached(app, "R1", "day page")) == mine  # the same entries
    assert all(mine)
    assert all(other)
    edit = boss.patch("/api/v1/accounts/A1", json={"opening_hours": "Mo-Fr 06:00-09:00"})
    assert edit.status_code == 200, edit.text
    assert rep.get(API).json()["stops"][1]["opening_hours"] == "06:00-09:00"
    assert "06:00-09:00" in rep.get(PAGE).text
    assert boss.get(FOREIGN_API).json()["stops"][0]["opening_hours"] == "07:00-12:00"


def test_a_rename_or_a_new_account_forgets_every_answer(
    app_clients: tuple[TestClient, TestClient],
) -> None:
    """A day page may name any account (the change list of the rep's last re-plan), and a new
    or removed account is no edit of a shown one: then no cached answer is kept."""
    rep, boss = app_clients
    app = rep.app
    services = app_state(app).services
    answers = _cache_both_reps(rep, boss)
    before = _cached(app, OTHER)
    csv = (
        "id,name,lat,lon,frequency,visit_minutes\nA1,Bäckerei Müller neu,49.4106,8.694,weekly,30\n"
    )
    page = boss.post("/accounts/import", files={"file": ("k.csv", csv.encode(), "text/csv")})
    assert "0 new, 1 changed" in page.text
    assert "Bäckerei Müller neu" in rep.get(PAGE).text
    assert boss.get(FOREIGN_API).content == answers[FOREIGN_API]
    renamed = _cached(app, OTHER)
    assert len(renamed) == len(before) + 1  # made again, under a new key
    added = boss.post(
        "/api/v1/accounts",
        json={
            "accounts": [
                {"id": "N1", "name": "Neu", "lat": 49.41, "lon": 8.69, "frequency": "weekly"}
            ]
        },
    )
    assert added.status_code == 201, added.text
    assert "N1" in services.snapshot().accounts
    assert boss.get(FOREIGN_API).content == answers[FOREIGN_API]
    assert len(_cached(app, OTHER)) == len(renamed) + 1


def test_another_process_edit_is_seen_after_the_ttl_and_forgets_only_its_answers(
    settings: Settings,
    store: Store,
    world: int,  # noqa: F811
) -> None:
    """Another process's edit reaches this one through the accounts' ``updated_at``: after the
    TTL the answers showing the account are fresh, the others still the cached entries."""
    app = create_app(settings.model_copy(update={"day_cache_ttl_s": 0.2}))
    with TestClient(app) as rep, TestClient(app) as boss:
        log_in(rep, "juergen")
        log_in(boss, "boss")
        answers = _cache_both_reps(rep, boss)
        other = _cached(app, OTHER)
        (account,) = store.accounts.find(["A1"])  # the store of "another process"
        hours = WeeklyHours.uniform(TimeWindow(6 * 3600, 9 * 3600))
        store.accounts.upsert([dataclasses.replace(account, opening_hours=hours)], source="cli")
        time.sleep(0.3)
        assert rep.get(API).json()["stops"][1]["opening_hours"] == "06:00-09:00"
        assert "06:00-09:00" in rep.get(PAGE).text
        assert boss.get(FOREIGN_API).content == answers[FOREIGN_API]
        assert _cached(app, OTHER) == other


def test_an_edit_stamped_before_one_already_seen_shows_too(
    settings: Settings,
    world: int,  # noqa: F811
) -> None:
    """Two edits in one tick of the storage clock, or one whose transaction took its time
    before another's and committed after it, leave the newest ``updated_at`` where it was; the
    accounts this process wrote are read again by id, so each such edit shows at once (and
    still forgets only the answers showing the account)."""
    now = [datetime.now(UTC)]
    store = Store(session_factory(make_engine(settings.database_url)), clock=lambda: now[0])
    app = create_app(settings, services=Services(settings=settings, store=store))
    with TestClient(app) as rep, TestClient(app) as boss:
        log_in(rep, "juergen")
        log_in(boss, "boss")
        foreign = boss.get(FOREIGN_API).content
        other = _cached(app, OTHER)
        edits = [("A2", "05:00-08:00", 0), ("A1", "06:00-09:00", -60), ("A1", "07:00-10:00", 0)]
        for account_id, hours, shift in edits:
            now[0] += timedelta(seconds=shift)  # A1's edits go back a minute behind A2's
            body = {"opening_hours": f"Mo-Fr {hours}"}
            edit = boss.patch(f"/api/v1/accounts/{account_id}", json=body)
            assert edit.status_code == 200, edit.text
            stops = {s["account_id"]: s["opening_hours"] for s in rep.get(API).json()["stops"]}
            assert stops[account_id] == hours
            assert hours in rep.get(PAGE).text
        assert store.data_version().accounts_updated_at == now[0] + timedelta(seconds=60)
        assert boss.get(FOREIGN_API).content == foreign
        assert _cached(app, OTHER) == other  # no edit here had to forget every answer
    store.close()


def test_visits_another_process_records_are_seen_after_the_ttl(
    settings: Settings,
    store: Store,
    world: int,  # noqa: F811
) -> None:
    """Also when a record commits out of id order (PostgreSQL sequences allow it), which the
    new ids alone would miss: then every answer is forgotten."""
    app = create_app(settings.model_copy(update={"day_cache_ttl_s": 0.2}))
    engine = make_engine(settings.database_url)
    insert = text(
        "INSERT INTO visit_records (id, visit_id, account_id, rep_id, day, status, note, "
        "recorded_at, recorded_by) VALUES (:id, :visit, :account, 'R1', :day, :status, '', "
        "CURRENT_TIMESTAMP, 'cli')"
    )

    def record(record_id: int, account_id: str, status: str) -> None:
        visit = f"{account_id}@{DAY.isoformat()}"
        values = {"account": account_id, "visit": visit, "day": DAY, "status": status}
        with engine.begin() as connection:  # "another process"
            connection.execute(insert, {"id": record_id, **values})

    with TestClient(app) as rep:
        log_in(rep, "juergen")
        assert [s["status"] for s in rep.get(API).json()["stops"]] == [None, None]
        with engine.connect() as connection:
            newest = connection.execute(text("SELECT max(id) FROM visit_records")).scalar_one()
        record(newest + 5, "A2", "checked_in")
        time.sleep(0.3)
        assert [s["status"] for s in rep.get(API).json()["stops"]] == ["checked_in", None]
        record(newest + 2, "A1", "done")  # a lower id, committed later
        time.sleep(0.3)
        assert [s["status"] for s in rep.get(API).json()["stops"]] == ["checked_in", "done"]
    engine.dispose()


@pytest.mark.parametrize("url", [PAGE, API])
def test_cached_answers_come_gzipped_or_plain_as_the_client_asks(
    app_clients: tuple[TestClient, TestClient], url: str
) -> None:
    """The compressed copy is made once with the cached answer; a client that does not say it
    takes gzip gets the very same body uncompressed."""
    rep, _ = app_clients
    answers = {
        enc: rep.get(url, headers={"Accept-Encoding": enc})
        for enc in ("gzip", "gzip, deflate, br", "identity", "br;q=1.0, *;q=0.5")
    }
    for enc, response in answers.items():
        assert response.status_code == 200, response.text
        assert "Accept-Encoding" in response.headers["vary"]
        wanted = None if enc == "identity" else "gzip"
        assert response.headers.get("content-encoding") == wanted, enc
        assert response.content == answers["identity"].content  # httpx inflated gzip
    assert int(answers["gzip"].headers["content-length"]) < len(answers["identity"].content)


@pytest.mark.parametrize(
    ("header", "takes"),
    [
        ("gzip", True),
        ("deflate, GZIP;q=0.8", True),
        ("*", True),
        ("identity", False),
        ("", False),
        ("gzip;q=0", False),
        ("gzip;q=0.0, br", False),
        ("gzip;q=oops", False),
        ("x-gzip-not", False),
    ],
)
def test_accept_encoding_is_read_with_its_quality_values(header: str, takes: bool) -> None:
    scope = {"type": "http", "headers": [(b"accept-encoding", header.encode())]}
    assert accepts_gzip(Request(scope)) is takes


def test_requests_missing_the_same_answer_make_it_once(settings: Settings, store: Store) -> None:
    """Right after a change many phones ask for the same day at once: one makes the answer,
    the others wait for it. When the maker fails, each waiter tries on its own."""
    services = Services.build(settings)
    calls: list[str] = []

    def make() -> bytes:
        calls.append("made")
        time.sleep(0.3)
        return b"the day"

    def fail() -> bytes:
        calls.append("failed")
        time.sleep(0.3)
        raise InputError("no day")

    async def together(key: str, maker: Callable[[], bytes]) -> list[object]:
        asks = [services.cached_answer_async((key,), maker) for _ in range(5)]
        return await asyncio.gather(*asks, return_exceptions=True)

    assert _run_apart(together("day", make)) == [b"the day"] * 5
    assert calls == ["made"]
    failures = _run_apart(together("broken", fail))
    assert all(isinstance(f, InputError) for f in failures)
    assert calls.count("failed") == 5
    services.store.close()


def _run_apart(work: Coroutine[Any, Any, list[object]]) -> list[object]:
    """Run ``work`` on an event loop of its own thread: a browser test before this one in the
    same worker leaves Playwright's loop running in this thread, where ``asyncio.run`` refuses."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()
