"""``routeplanner plan`` end to end: real SQLite file, real roads, a stored current plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeplanner.cli import main
from routeplanner.io.accounts import write_accounts_csv
from routeplanner.io.reps import write_reps_csv
from routeplanner.storage import Store
from tests.conftest import small_region

pytestmark = [pytest.mark.osm, pytest.mark.slow]


@pytest.fixture
def env(tmp_path: Path, heidelberg_cache: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'plan.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("RP_CACHE_DIR", str(heidelberg_cache))
    monkeypatch.delenv("RP_OSM_PATH", raising=False)
    return url


def test_plan_without_data_names_what_is_missing(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["plan", "--weeks", "1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "database: accounts: no accounts: import them first",
        "database: reps: no reps: import them first",
    ]


def test_import_then_plan_stores_a_current_plan(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts, reps = small_region()
    write_accounts_csv(accounts, tmp_path / "a.csv")
    write_reps_csv(reps, tmp_path / "r.csv")
    main(["import", "--accounts", str(tmp_path / "a.csv"), "--reps", str(tmp_path / "r.csv")])
    main(["plan", "--weeks", "2", "--start", "2026-11-23", "--time-limit", "1"])
    out = capsys.readouterr().out
    assert "designed 1 territories" in out
    assert "plan 1 is current" in out
    store = Store.open(env)
    plan_id, plan = store.plans.current()  # type: ignore[misc]
    assert plan_id == 1
    visited = {s.account_id for r in plan.routes for s in r.stops}
    # A1 weekly (2 visits in 2 weeks), A2 every 2 weeks (1); A3 is 40 km off the road network
    assert visited == {"A1", "A2"}
    assert sum(1 for r in plan.routes for s in r.stops if s.account_id == "A1") == 2
    assert {u.account_id for u in plan.unassigned} == {"A3"}
    assert all(u.reason.value == "unreachable" for u in plan.unassigned)
    assert [t.rep_id for t in store.territories.all()] == ["R1"]


def test_bad_start_date(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["plan", "--start", "23.11.2026"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == "--start: '23.11.2026' is not a date YYYY-MM-DD"
