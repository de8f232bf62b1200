"""Rep import: one bad file per defect with its exact message, days-off ranges, round trips."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routeplanner.errors import InputError, Problem
from routeplanner.io.opening_hours import parse_opening_hours, parse_time_range
from routeplanner.io.reps import (
    format_days_off,
    parse_days_off,
    read_reps,
    read_reps_bytes,
    reps_to_csv,
    write_reps_csv,
    write_reps_xlsx,
)
from routeplanner.model import GeoPoint, LunchBreak, Rep, TimeWindow, WeeklyHours
from tests.helpers import DATA_DIR

BAD_FILES = [
    ("reps_missing_home_lat_column.csv", None, "home_lat", "required column is missing"),
    ("reps_home_lat_out_of_range.csv", 3, "home_lat", "latitude -95 is outside -90..90"),
    (
        "reps_bad_working_hours.csv",
        3,
        "working_hours",
        "working hours 'Mo-Fr 17:00-08:00' do not parse: time range 17:00-08:00 ends before "
        "it starts",
    ),
    ("reps_never_works.csv", 3, "working_hours", "rep never works (working hours 'off')"),
    (
        "reps_bad_lunch_window.csv",
        3,
        "lunch_window",
        "lunch window '11:30' does not parse: '11:30' is not a time range HH:MM-HH:MM",
    ),
    (
        "reps_lunch_too_long.csv",
        3,
        "lunch_minutes",
        "lunch break of 90 min does not fit its window 11:30-12:30",
    ),
    (
        "reps_lunch_outside_working_hours.csv",
        3,
        "lunch_window",
        "lunch window 12:00-13:00 leaves no 30 min inside the working hours on Mo,Tu,We,Th,Fr",
    ),
    (
        "reps_lunch_minutes_without_window.csv",
        3,
        "lunch_minutes",
        "lunch_minutes needs a lunch_window",
    ),
    ("reps_bad_days_off.csv", 3, "days_off", "bad date '2026-02-30'; use YYYY-MM-DD"),
    (
        "reps_days_off_range_reversed.csv",
        3,
        "days_off",
        "date range 2026-12-31..2026-12-24 ends before it starts",
    ),
    (
        "reps_days_off_range_too_long.csv",
        3,
        "days_off",
        "date range 2026-01-01..2062-01-01 is longer than a year",
    ),
    ("reps_bad_max_visits.csv", 3, "max_visits_per_day", "must be at least 1, got 0"),
    ("reps_bad_max_drive.csv", 3, "max_drive_minutes", "must be more than 0 minutes, got -5"),
    ("reps_bad_email.csv", 3, "email", "'juergen.weiss' is not an e-mail address"),
    ("reps_duplicate_id.csv", 4, "id", "duplicate id 'R1' (first used in row 2)"),
]


@pytest.mark.parametrize(("name", "row", "column", "message"), BAD_FILES)
def test_bad_file_reports_exact_problem(
    name: str, row: int | None, column: str | None, message: str
) -> None:
    with pytest.raises(InputError) as info:
        read_reps(DATA_DIR / name)
    assert info.value.problems == [Problem(name, row, column, message)]


def test_bad_files_all_covered() -> None:
    on_disk = {p.name for p in DATA_DIR.glob("reps_*.csv")} - {"reps_ok.csv"}
    assert on_disk == {b[0] for b in BAD_FILES}


def _juergen() -> Rep:
    return Rep(
        rep_id="R1",
        name="Jürgen Weiß",
        home_address="Römerstraße 12, 69115 Heidelberg",
        home=GeoPoint(49.401, 8.688),
        working_hours=parse_opening_hours("Mo-Fr 08:00-17:00"),
        lunch=LunchBreak(window=parse_time_range("11:30-14:00"), duration_s=30 * 60),
        # 2026-12-24..2026-12-31 is eight days, plus Epiphany
        days_off=frozenset(date(2026, 12, d) for d in range(24, 32)) | {date(2027, 1, 6)},
        max_visits_per_day=10,
        max_drive_s=240 * 60,
        email="juergen.weiss@example.com",
        qualifications=frozenset({"medical"}),
    )


def test_good_file_gives_exact_reps() -> None:
    first, second = read_reps(DATA_DIR / "reps_ok.csv")
    assert first == _juergen()
    assert second.name == "Anna Schäfer"
    assert second.days_off == frozenset()
    assert second.max_drive_s is None


def test_defaults_for_optional_columns() -> None:
    data = "id,name,home_lat,home_lon\nR9,Sören Kübler,49.4,8.7\n".encode()
    (rep,) = read_reps_bytes(data, source="upload.csv")
    assert rep.working_hours == parse_opening_hours("Mo-Fr 08:00-17:00")
    assert rep.lunch is None
    assert rep.max_visits_per_day == 12


def test_lunch_window_without_minutes_defaults_to_30() -> None:
    data = b"id,name,home_lat,home_lon,lunch_window\nR9,X,49.4,8.7,12:00-13:30\n"
    (rep,) = read_reps_bytes(data, source="upload.csv")
    assert rep.lunch == LunchBreak(window=parse_time_range("12:00-13:30"), duration_s=30 * 60)


def test_days_off_ranges_and_formatting() -> None:
    days = parse_days_off("2026-12-24..2026-12-26, 2027-01-06; 06.04.2027")
    assert days == {
        date(2026, 12, 24),
        date(2026, 12, 25),
        date(2026, 12, 26),
        date(2027, 1, 6),
        date(2027, 4, 6),
    }
    assert format_days_off(days) == "2026-12-24..2026-12-26; 2027-01-06; 2027-04-06"
    assert parse_days_off(format_days_off(days)) == days


def test_export_then_import_is_lossless(tmp_path: Path) -> None:
    reps = [_juergen(), *read_reps(DATA_DIR / "reps_ok.csv")[1:]]
    path = tmp_path / "reps.csv"
    write_reps_csv(reps, path)
    assert "Jürgen Weiß".encode() in path.read_bytes()
    assert read_reps(path) == reps
    assert reps_to_csv(reps) == path.read_text(encoding="utf-8")


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n"),
    max_size=20,
).map(str.strip)


@st.composite
def reps(draw: st.DrawFn) -> Rep:
    """Arbitrary valid reps: one shift on a non-empty set of weekdays, lunch inside it."""
    start = draw(st.integers(0, 700)) * 60
    end = start + draw(st.integers(60, 700)) * 60
    lunch = None
    if draw(st.booleans()):
        a = draw(st.integers(start // 60, end // 60 - 1)) * 60
        b = draw(st.integers(a // 60 + 1, end // 60)) * 60
        lunch = LunchBreak(
            window=TimeWindow(a, b), duration_s=draw(st.integers(0, (b - a) // 60)) * 60
        )
    return Rep(
        rep_id=draw(st.from_regex(r"\w[\w.:@+\-]{0,20}", fullmatch=True)),  # model.ids
        name=draw(_TEXT.filter(bool)),
        home=GeoPoint(
            draw(st.floats(-90, 90)), draw(st.floats(-180, 180).filter(lambda x: x != 0))
        ),
        working_hours=WeeklyHours.uniform(
            TimeWindow(start, end), draw(st.frozensets(st.integers(0, 6), min_size=1))
        ),
        home_address=draw(_TEXT),
        lunch=lunch,
        days_off=draw(st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=20)),
        max_visits_per_day=draw(st.integers(1, 40)),
        max_drive_s=draw(st.none() | st.integers(1, 900).map(lambda m: m * 60)),
        email=draw(st.emails()) if draw(st.booleans()) else "",
        qualifications=draw(
            st.frozensets(
                _TEXT.map(lambda t: t.replace(",", "").replace(";", "").strip()).filter(bool),
                max_size=3,
            )
        ),
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(reps(), min_size=1, max_size=4, unique_by=lambda r: r.rep_id))
def test_any_valid_reps_round_trip(items: list[Rep]) -> None:
    assert read_reps_bytes(reps_to_csv(items).encode("utf-8"), source="x.csv") == items


def test_xlsx_export_then_import_is_lossless(tmp_path: Path) -> None:
    reps = read_reps(DATA_DIR / "reps_ok.csv")
    path = tmp_path / "reps.xlsx"
    write_reps_xlsx(reps, path)
    assert read_reps(path) == reps
