"""The entry points agree because they run one use case: checked through the entry points.

Two disagreements that once existed between copies of the territory code: applying an option
from the web page dropped every territory's segment (the CLI kept them), and an account off the
road network was placed three ways (planning: nearest rep; web: lock, owner, nearest; CLI
design: an error). Both are checked here through HTTP and the command line, not the service.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routeplanner.cli import main
from routeplanner.model import Account, Rep, Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.units import haversine_m
from tests.databases import MigratedSqlite
from tests.web.test_territories_page import (
    FAST,
    nearest_home_split,
    owners,
    territory_region,
    wait_job,
)

pytestmark = [pytest.mark.osm, pytest.mark.slow]
SEGMENTS = {"T-R1": "retail", "T-R2": "medical"}


def _fresh_store(url: str, accounts: list[Account], reps: list[Rep]) -> Store:
    """A store of ``accounts`` and ``reps`` in the migrated, empty database at ``url``."""
    store = Store.open(url, upgrade=False)
    with store.transaction() as tx:
        tx.accounts.replace_all(accounts, source="test")
        tx.reps.replace_all(reps, source="test")
    return store


def _apply_first_option(client: TestClient, kind: str) -> dict[str, Any]:
    started = client.post(f"/api/v1/territories/{kind}", json=FAST)
    assert started.status_code == 202, started.text
    job = wait_job(client, started.json()["job_id"])
    assert job["state"] == "done", job
    applied = client.post(f"/territories/jobs/{job['job_id']}/apply", data={"option": "1"})
    assert applied.status_code == 200, applied.text
    return job


@pytest.mark.parametrize("kind", ["design", "realign"])
def test_segments_survive_an_apply_from_the_web_page(
    client: TestClient, settings: Settings, kind: str
) -> None:
    accounts, reps = territory_region()
    store = _fresh_store(settings.database_url, accounts, reps)
    store.territories.save(
        nearest_home_split(accounts, reps), cause=OwnershipCause.IMPORT, replace_all=True
    )
    store.territories.set_segments(SEGMENTS)
    _apply_first_option(client, kind)
    stored = {t.territory_id: t.segment for t in store.territories.all()}
    assert stored == {"T-R1": "retail", "T-R2": "medical", "T-R3": ""}


def _far_and_near(accounts: list[Account], reps: list[Rep]) -> tuple[str, str]:
    """The reps living farthest from and nearest to the off-network account A3."""
    a3 = next(a for a in accounts if a.account_id == "A3")
    by_distance = sorted(
        reps,
        key=lambda r: haversine_m(a3.location.lat, a3.location.lon, r.home.lat, r.home.lon),
    )
    return by_distance[-1].rep_id, by_distance[0].rep_id


def _cli(args: list[str]) -> str:
    """ "" when the command succeeds, else what it exited with (so every entry point is shown)."""
    try:
        main(args)
    except SystemExit as exc:
        if exc.code not in (0, None):
            return f"exit {exc.code}"
    return ""


def _owner_of(store: Store, account_id: str) -> str | None:
    return owners(store.territories.all()).get(account_id)


def _three_placements(
    migrated_sqlite: MigratedSqlite,
    tmp_path: Path,
    settings: Settings,
    client: TestClient,
    accounts: list[Account],
    reps: list[Rep],
    base: list[Territory] | None,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str | None]:
    """Where A3 ends up by the web job, by ``territories design`` and by planning (when there
    are no territories yet, planning designs them), each on its own database."""
    placed: dict[str, str | None] = {}
    web = _fresh_store(settings.database_url, accounts, reps)
    if base is not None:
        web.territories.save(base, cause=OwnershipCause.IMPORT, replace_all=True)
    started = client.post("/api/v1/territories/design", json=FAST)
    job = wait_job(client, started.json()["job_id"])
    assert job["state"] == "done", job
    placed["web"] = owners(job["options"][0]["territories"]).get("A3")

    monkeypatch.setenv("RP_CACHE_DIR", str(settings.cache_dir))
    monkeypatch.setenv("RP_OSM_PATH", str(settings.osm_path))
    cli_url = migrated_sqlite.copy(tmp_path / "cli.sqlite")
    cli = _fresh_store(cli_url, accounts, reps)
    if base is not None:
        cli.territories.save(base, cause=OwnershipCause.IMPORT, replace_all=True)
    failed = _cli(["territories", "design", "--database-url", cli_url, "--quiet", "--save"])
    placed["cli design"] = failed or _owner_of(cli, "A3")

    if base is None:
        plan_url = migrated_sqlite.copy(tmp_path / "plan.sqlite")
        planned = _fresh_store(plan_url, accounts, reps)
        args = ["plan", "--database-url", plan_url, "--weeks", "1", "--time-limit", "0.5"]
        failed = _cli([*args, "--start", "2026-11-23", "--quiet"])
        placed["planning"] = failed or _owner_of(planned, "A3")
    return placed


def test_off_network_account_goes_to_its_locked_rep_everywhere(
    migrated_sqlite: MigratedSqlite,
    tmp_path: Path,
    settings: Settings,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accounts, reps = territory_region()
    far, near = _far_and_near(accounts, reps)
    accounts = [replace(a, locked_rep_id=far) if a.account_id == "A3" else a for a in accounts]
    placed = _three_placements(
        migrated_sqlite, tmp_path, settings, client, accounts, reps, None, monkeypatch
    )
    assert placed == {"web": far, "cli design": far, "planning": far}, f"nearest is {near}"


def test_off_network_account_stays_with_its_owner_everywhere(
    migrated_sqlite: MigratedSqlite,
    tmp_path: Path,
    settings: Settings,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accounts, reps = territory_region()
    far, near = _far_and_near(accounts, reps)
    base = nearest_home_split(accounts, reps)
    base = [
        replace(t, account_ids=tuple(a for a in t.account_ids if a != "A3"))
        if t.rep_id != far
        else replace(t, account_ids=(*t.account_ids, "A3"))
        for t in base
    ]
    placed = _three_placements(
        migrated_sqlite, tmp_path, settings, client, accounts, reps, base, monkeypatch
    )
    assert placed == {"web": far, "cli design": far}, f"nearest is {near}"
