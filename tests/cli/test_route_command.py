"""``routeplanner route``: prints the ordered stops with ETAs; bad input exits 2 with file:row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from routeplanner.cli import main

# The documented formats (docs/data-formats.md), read by routeplanner.io when present.
ACCOUNTS = """id,name,lat,lon,frequency,visit_minutes,opening_hours,value_class
A1,Bakery,49.41,8.69,weekly,30,Mo-Fr 08:00-12:00,A
A2,Pharmacy,49.40,8.68,weekly,20,Mo-Fr 09:00-18:00,B
A3,Kiosk,49.42,8.70,weekly,15,,C
A5,Nightbar,49.41,8.71,weekly,30,Mo-Su 20:00-23:00,A
"""
REPS = """id,name,home_lat,home_lon,working_hours,lunch_window,lunch_minutes,max_visits_per_day
R1,Anna,49.40,8.70,Mo-Fr 08:00-17:00,12:00-14:00,30,10
"""


STOP_ID = re.compile(r"^\s*\d+\. .*\((A\d+)\)\s+arrive ")


def write(tmp_path: Path, accounts: str = ACCOUNTS, reps: str = REPS) -> list[str]:
    (tmp_path / "accounts.csv").write_text(accounts, encoding="utf-8")
    (tmp_path / "reps.csv").write_text(reps, encoding="utf-8")
    return [
        "route",
        "--accounts",
        str(tmp_path / "accounts.csv"),
        "--reps",
        str(tmp_path / "reps.csv"),
        "--rep",
        "R1",
        "--date",
        "2026-11-23",
        "--time-limit",
        "0.5",
        "--straight-line",
    ]


def test_route_prints_stops_and_unplanned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(write(tmp_path))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("R1 2026-11-23: leave ")
    stops = [m.group(1) for line in out if (m := STOP_ID.search(line))]
    assert sorted(stops) == ["A1", "A2", "A3"]
    assert any(line.startswith("     back ") and "3 visits" in line for line in out)
    assert out[-1] == (
        "  not planned: A5: open only outside the rep's working hours: "
        "visit can start 20:00-22:30; working hours 08:00-17:00"
    )


def test_route_bad_rows_exit_2_with_file_and_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = ACCOUNTS + "A9,Nowhere,95.0,8.7,weekly,30,,B\n"
    with pytest.raises(SystemExit) as exc:
        main(write(tmp_path, accounts=bad))
    assert exc.value.code == 2
    # Row 6 (header = row 1), column lat; the wording is the importer's.
    assert capsys.readouterr().err.strip().startswith("accounts.csv:6: lat: ")


def test_route_unknown_rep_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = write(tmp_path)
    args[args.index("R1")] = "R7"
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == "reps.csv: rep_id: no rep 'R7'"


def test_route_only_restricts_accounts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main([*write(tmp_path), "--only", "A1,A3"])
    out = capsys.readouterr().out.splitlines()
    stops = [m.group(1) for line in out if (m := STOP_ID.search(line))]
    assert sorted(stops) == ["A1", "A3"]
    assert not any("not planned" in line for line in out)


def test_many_unplanned_are_summarised_by_reason() -> None:
    from datetime import date

    from routeplanner.cli.route import describe_unassigned
    from routeplanner.model import Unassigned, UnassignedReason

    many = [
        Unassigned(
            visit_id=f"A{i}",
            account_id=f"A{i}",
            reason=UnassignedReason.DAY_FULL_VISITS,
            day=date(2026, 11, 23),
        )
        for i in range(25)
    ]
    assert describe_unassigned(many) == [
        "  not planned: 25 accounts",
        "      25 the day is full: maximum visits per day reached: "
        "A0, A1, A2, A3, A4, A5, A6, A7, ... (+17)",
    ]


def test_route_defaults_to_first_rep_and_next_working_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import date

    args = write(tmp_path)
    for flag in ("--rep", "--date"):  # drop the option and its value
        i = args.index(flag)
        del args[i : i + 2]
    main(args)
    header = capsys.readouterr().out.splitlines()[0]
    rep_id, day_text, *_ = header.split()
    planned = date.fromisoformat(day_text.rstrip(":"))
    assert rep_id == "R1"
    assert planned >= date.today()
    assert planned.weekday() < 5  # R1 works Monday to Friday
