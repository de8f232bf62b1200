"""``visit`` then ``repair``: outcomes are stored, the rest is re-planned as a new version."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url

from routeplanner.cli import main
from routeplanner.io.accounts import write_accounts_csv
from routeplanner.io.reps import write_reps_csv
from routeplanner.model import Plan
from routeplanner.model.history import VisitStatus
from routeplanner.storage import Store
from tests.cli.test_plan_command import env  # noqa: F401  (fixture)
from tests.conftest import small_region
from tests.databases import copy_sqlite

pytestmark = [pytest.mark.osm, pytest.mark.slow]


@pytest.fixture(scope="module")
def planned_once(tmp_path_factory: pytest.TempPathFactory, heidelberg_cache: Path) -> Path:
    """The small region imported and planned: once per module, each test works on a copy."""
    folder = tmp_path_factory.mktemp("planned")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{folder / 'plan.sqlite'}")
        monkeypatch.setenv("RP_CACHE_DIR", str(heidelberg_cache))
        monkeypatch.delenv("RP_OSM_PATH", raising=False)
        accounts, reps = small_region()
        write_accounts_csv(accounts, folder / "a.csv")
        write_reps_csv(reps, folder / "r.csv")
        main(["import", "--accounts", str(folder / "a.csv"), "--reps", str(folder / "r.csv")])
        main(["plan", "--weeks", "2", "--start", "2026-11-23", "--time-limit", "1", "--quiet"])
    return folder / "plan.sqlite"


@pytest.fixture
def planned(env: str, planned_once: Path) -> Store:  # noqa: F811
    copy_sqlite(planned_once, Path(str(make_url(env).database)))
    return Store.open(env)


def test_visit_records_outcome_with_actual_time(
    planned: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plan = planned.plans.current()  # type: ignore[misc]
    first = plan.routes[0]
    visit = first.stops[0].visit_id
    outcome = ["--outcome", "order", "--order-value", "480.5", "--next-step", "Katalog"]
    note = ["--note", "Bestellung über 3 Kisten"]
    main(["visit", visit, "--status", "done", "--at", "10:15", *note, *outcome])
    assert f"recorded {visit} (R1, {first.day}) as done" in capsys.readouterr().out
    (record,) = planned.visits.find()
    assert record.status is VisitStatus.DONE
    assert record.note == "Bestellung über 3 Kisten"
    assert (record.outcome, record.order_value, record.next_step) == ("order", 480.5, "Katalog")
    assert record.actual_start is not None
    # stored as an aware datetime; 10:15 on the Berlin wall clock that day
    local = record.actual_start.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.date(), local.hour, local.minute) == (first.day, 10, 15)


def test_visit_of_unknown_id_is_refused(planned: Store, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["visit", "A9@2026-11-23", "--status", "missed"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == "no planned visit 'A9@2026-11-23'"


def test_missed_visit_is_rescheduled_and_frozen_day_kept(
    planned: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    _, before = planned.plans.current()  # type: ignore[misc]
    route = next(r for r in before.routes if any(s.account_id == "A1" for s in r.stops))
    missed = next(s for s in route.stops if s.account_id == "A1")
    today = route.day
    main(["visit", missed.visit_id, "--status", "missed"])
    main(["repair", "--today", today.isoformat(), "--frozen-days", "1", "--time-limit", "1"])
    out = capsys.readouterr().out
    assert "plan 2 (repair of plan 1) is now current" in out
    plan_id, after = planned.plans.current()  # type: ignore[misc]
    assert plan_id == 2
    # Today is the one frozen working day: the very same route in both versions.
    assert [r for r in after.routes if r.day == today] == [route]

    # The missed weekly visit of A1 comes back urgently: sooner than its next planned visit was.
    def next_a1(plan: Plan) -> date:
        return min(
            r.day for r in plan.routes for s in r.stops if s.account_id == "A1" and r.day > today
        )

    assert next_a1(after) < next_a1(before)
    assert next_a1(after) <= today + timedelta(days=3)


def test_repair_with_bad_absence(planned: Store, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["repair", "--absent", "R1:25.11.2026"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--absent: 'R1:25.11.2026' is not REP:YYYY-MM-DD[..YYYY-MM-DD]" in err
    with pytest.raises(SystemExit):
        main(["repair", "--absent", "R7:2026-11-25", "--today", "2026-11-24"])
    assert "--absent: rep: unknown rep 'R7'" in capsys.readouterr().err
