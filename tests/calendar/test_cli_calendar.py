"""``routeplanner calendar export`` and ``calendar token`` on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest
from typer.testing import CliRunner

from routeplanner.cli import _register, app
from routeplanner.services.calendar import CalendarFeeds
from routeplanner.settings import Settings
from routeplanner.storage import Store
from tests.calendar.conftest import plan_v1, store_plan


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, cal_settings: Settings) -> CliRunner:
    _register()
    monkeypatch.setenv("RP_PUBLIC_URL", "https://plan.example.com")
    monkeypatch.setenv("DATABASE_URL", cal_settings.database_url)
    return CliRunner()


def test_export_writes_the_date_range(runner: CliRunner, cal_store: Store, tmp_path: Path) -> None:
    store_plan(cal_store, plan_v1())
    out = tmp_path / "r1.ics"
    args = ["calendar", "export", "--rep", "R1", "--from", "2027-03-29", "--to", "2027-04-04"]
    result = runner.invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{out}: 2 events of Jürgen Weiß (2027-03-29 .. 2027-04-04)"
    events = icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    assert sorted(str(e["SUMMARY"]) for e in events)[0] == "Apotheke am Bismarckplatz"
    assert str(events[0]["URL"]).startswith("https://plan.example.com/route?rep=R1&day=")


def test_export_reports_every_bad_option(
    runner: CliRunner, cal_store: Store, tmp_path: Path
) -> None:
    from routeplanner.errors import InputError

    args = ["calendar", "export", "--rep", "R9", "--from", "2027-13-01", "--to", "x"]
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "x.ics")])
    assert isinstance(result.exception, InputError)
    assert [str(p) for p in result.exception.problems] == [
        "command line: --from: '2027-13-01' is not a date YYYY-MM-DD",
        "command line: --to: 'x' is not a date YYYY-MM-DD",
        "command line: --rep: no rep 'R9' in the database",
    ]


def test_token_prints_url_then_rotates_and_revokes(
    runner: CliRunner, cal_store: Store, cal_settings: Settings
) -> None:
    created = runner.invoke(app, ["calendar", "token", "--rep", "R1"])
    assert created.exit_code == 0, created.output
    url, webcal = created.output.split()
    assert url.startswith("https://plan.example.com/calendar/")
    assert url.endswith(".ics")
    assert webcal == url.replace("https://", "webcal://")
    feeds = CalendarFeeds(cal_store, cal_settings)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    owner = feeds.owner(token)
    assert owner is not None
    assert owner.rep_ids == ("R1",)
    assert owner.user.username == "calendar-R1"

    again = runner.invoke(app, ["calendar", "token", "--rep", "R1"])
    assert "has an active feed URL" in again.output
    rotated = runner.invoke(app, ["calendar", "token", "--rep", "R1", "--rotate"])
    new_token = rotated.output.split()[0].rsplit("/", 1)[1].removesuffix(".ics")
    assert feeds.owner(token) is None
    assert feeds.owner(new_token) is not None
    revoked = runner.invoke(app, ["calendar", "token", "--rep", "R1", "--revoke"])
    assert revoked.output.strip() == "revoked 1 feed URL(s) of rep R1"
    assert feeds.owner(new_token) is None

    team = runner.invoke(app, ["calendar", "token", "--team"])
    team_owner = feeds.owner(team.output.split()[0].rsplit("/", 1)[1].removesuffix(".ics"))
    assert team_owner is not None
    assert team_owner.rep_ids == ("R1", "R2")


def test_team_token_needs_a_manager_user(runner: CliRunner, cal_store: Store) -> None:
    from routeplanner.errors import InputError

    cal_store.users.create("jw", "x", role="rep", rep_id="R1")
    refused = runner.invoke(app, ["calendar", "token", "--team", "--manager", "jw"])
    assert isinstance(refused.exception, InputError)
    assert [str(p) for p in refused.exception.problems] == [
        "command line: --manager: user 'jw' is not a manager, so it has no team feed"
    ]
    both = runner.invoke(
        app, ["calendar", "token", "--rep", "R1", "--team", "--revoke", "--rotate"]
    )
    assert isinstance(both.exception, InputError)
    assert [str(p) for p in both.exception.problems] == [
        "command line: --rep: give either --rep R or --team",
        "command line: --revoke: cannot be used with --rotate",
    ]
    boss = runner.invoke(app, ["calendar", "token", "--team", "--manager", "boss"])
    assert boss.exit_code == 0, boss.output
    manager = cal_store.users.find("boss")
    assert manager is not None
    assert manager.role == "admin"  # the team feed shows every rep
