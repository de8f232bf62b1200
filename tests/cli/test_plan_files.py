"""``routeplanner plan --accounts --reps`` (file mode): KPIs and stops; bad dates exit 2."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from routeplanner.cli import main

ACCOUNTS = """id,name,lat,lon,frequency,visit_minutes,opening_hours,value_class
A1,Bakery,49.41,8.69,weekly,30,Mo-Fr 08:00-12:00,A
A2,Pharmacy,49.40,8.68,every 2 weeks,20,Mo-Fr 09:00-18:00,B
A3,Kiosk,49.42,8.70,weekly,15,,C
A4,Garage,49.39,8.66,every 2 weeks,25,Mo-Fr 07:30-17:00,B
A5,Nightbar,49.41,8.71,weekly,30,Mo-Su 20:00-23:00,A
"""
REPS = """id,name,home_lat,home_lon,working_hours,lunch_window,lunch_minutes,max_visits_per_day
R1,Anna,49.40,8.70,Mo-Fr 08:00-17:00,12:00-14:00,30,10
"""
TERRITORIES = """territory_id,rep_id,account_id
T1,R1,A1
T1,R1,A2
T1,R1,A3
T1,R1,A4
T1,R1,A5
"""


def args(tmp_path: Path, *extra: str) -> list[str]:
    (tmp_path / "accounts.csv").write_text(ACCOUNTS, encoding="utf-8")
    (tmp_path / "reps.csv").write_text(REPS, encoding="utf-8")
    (tmp_path / "holidays.csv").write_text("date,name\n2026-11-25,Test day\n", encoding="utf-8")
    return [
        "plan",
        "--accounts",
        str(tmp_path / "accounts.csv"),
        "--reps",
        str(tmp_path / "reps.csv"),
        "--weeks",
        "2",
        "--start",
        "2026-11-23",
        "--holidays",
        str(tmp_path / "holidays.csv"),
        "--time-limit",
        "1",
        "--straight-line",
        "--quiet",
        *extra,
    ]


def test_plan_prints_kpis_and_writes_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_csv = tmp_path / "stops.csv"
    main(args(tmp_path, "--out-csv", str(out_csv)))
    out = capsys.readouterr().out
    assert "2026-11-23 to 2026-12-06" in out
    # The night bar opens after the shift: never planned, and the reason is printed.
    assert "x open only outside the rep's working hours" in out
    rows = list(csv.DictReader(out_csv.read_text(encoding="utf-8").splitlines()))
    days = {r["day"] for r in rows}
    assert "2026-11-25" not in days  # the holiday
    assert {r["account_id"] for r in rows} == {"A1", "A2", "A3", "A4"}
    weekly_a1 = sorted(r["day"] for r in rows if r["account_id"] == "A1")
    assert len(weekly_a1) == 2  # weekly over two weeks
    assert all(r["visit_id"] == f"{r['account_id']}@{r['day']}" for r in rows)


def test_plan_bad_start_date_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = args(tmp_path)
    a[a.index("2026-11-23")] = "23.11.2026"
    with pytest.raises(SystemExit) as exc:
        main(a)
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == "--start: '23.11.2026' is not a date YYYY-MM-DD"
