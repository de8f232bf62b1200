"""Account import: one bad file per defect with its exact message, all-problems reporting,
CSV dialects (BOM, semicolon, decimal comma), XLSX, and lossless export/import round trips."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routeplanner.errors import InputError, Problem
from routeplanner.io.accounts import (
    ACCOUNT_COLUMNS,
    accounts_to_csv,
    read_accounts,
    read_accounts_bytes,
    write_accounts_csv,
    write_accounts_xlsx,
)
from routeplanner.io.opening_hours import parse_opening_hours
from routeplanner.model import Account, GeoPoint, TimeWindow, VisitRule, WeeklyHours
from tests.helpers import DATA_DIR

UNKNOWN_FREQUENCY = (
    "unknown frequency 'sometimes'; use weekly, biweekly, monthly, 'every N days|weeks' "
    "or 'K per N weeks'"
)

# (file, row, column, message): every bad file has one good row (2) and the bad one (3)
BAD_FILES = [
    ("accounts_missing_lat_column.csv", None, "lat", "required column is missing"),
    ("accounts_missing_lat.csv", 3, "lat", "missing value"),
    ("accounts_missing_name.csv", 3, "name", "missing value"),
    ("accounts_lat_not_a_number.csv", 3, "lat", "'49.4x1' is not a number"),
    ("accounts_lat_out_of_range.csv", 3, "lat", "latitude 94.1 is outside -90..90"),
    ("accounts_lon_out_of_range.csv", 3, "lon", "longitude 200 is outside -180..180"),
    (
        "accounts_zero_coordinates.csv",
        3,
        "lat",
        "latitude and longitude are both 0 (address not geocoded?)",
    ),
    ("accounts_unknown_frequency.csv", 3, "frequency", UNKNOWN_FREQUENCY),
    (
        "accounts_impossible_frequency.csv",
        3,
        "frequency",
        "frequency '9 per week': 9 visits do not fit into 7 days",
    ),
    (
        "accounts_bad_gap_bounds.csv",
        3,
        "max_gap_days",
        "gap bounds must satisfy 1 <= min gap (9) <= max gap (5)",
    ),
    ("accounts_gap_not_whole.csv", 3, "min_gap_days", "'2.5' is not a whole number"),
    (
        "accounts_bad_opening_hours.csv",
        3,
        "opening_hours",
        "opening hours 'Mx 08:00-12:00' do not parse: unknown weekday 'Mx'",
    ),
    (
        "accounts_opening_hours_end_before_start.csv",
        3,
        "opening_hours",
        "opening hours 'Mo-Fr 18:00-08:00' do not parse: time range 18:00-08:00 ends before "
        "it starts",
    ),
    ("accounts_never_open.csv", 3, "opening_hours", "account is never open (opening hours 'off')"),
    (
        "accounts_visit_longer_than_opening.csv",
        3,
        "visit_minutes",
        "visit of 90 min is longer than every opening window (longest 60 min)",
    ),
    ("accounts_visit_not_positive.csv", 3, "visit_minutes", "must be more than 0 minutes, got 0"),
    ("accounts_visit_too_long.csv", 3, "visit_minutes", "visit of 900 min is longer than 12 hours"),
    (
        "accounts_bad_weekday_list.csv",
        3,
        "preferred_days",
        "bad weekday list 'Mo,Xy': unknown weekday 'Xy'",
    ),
    (
        "accounts_preferred_and_forbidden.csv",
        3,
        "forbidden_days",
        "preferred and forbidden at once: Tu",
    ),
    (
        "accounts_all_open_days_forbidden.csv",
        3,
        "forbidden_days",
        "no weekday left for a visit: open long enough only on Mo,Tu, all forbidden",
    ),
    ("accounts_bad_date.csv", 3, "last_visit", "bad date '2026-02-30'; use YYYY-MM-DD"),
    (
        "accounts_unknown_value_class.csv",
        3,
        "value_class",
        "unknown value class 'D'; use A, B or C",
    ),
    (
        "accounts_unknown_column.csv",
        1,
        "preferd_days",
        "unknown column (did you mean 'preferred_days'?); rename it or prefix it with 'x_' to "
        "ignore it",
    ),
    ("accounts_extra_cells.csv", 2, None, "row has 16 cells but the header has 15 columns"),
    ("accounts_header_only.csv", None, None, "file has a header but no data rows"),
    ("accounts_empty.csv", None, None, "file is empty (no header row)"),
    (
        "accounts_not_utf8.csv",
        None,
        None,
        "file is not UTF-8 text (byte 0xe4 on line 2); save it as 'CSV UTF-8'",
    ),
]


@pytest.mark.parametrize(("name", "row", "column", "message"), BAD_FILES)
def test_bad_file_reports_exact_problem(
    name: str, row: int | None, column: str | None, message: str
) -> None:
    with pytest.raises(InputError) as info:
        read_accounts(DATA_DIR / name)
    assert info.value.problems == [Problem(name, row, column, message)]


def test_bad_files_all_exist_and_are_covered() -> None:
    """Guard the parametrization: each committed accounts_* file with a defect is tested."""
    tested = {b[0] for b in BAD_FILES}
    good = {"accounts_ok.csv", "accounts_bom.csv", "accounts_semicolon.csv"}
    on_disk = {p.name for p in DATA_DIR.glob("accounts_*.csv")}
    assert on_disk - good - {"accounts_many_errors.csv", "accounts_duplicate_id.csv"} == tested


def test_duplicate_ids_name_the_first_row() -> None:
    with pytest.raises(InputError) as info:
        read_accounts(DATA_DIR / "accounts_duplicate_id.csv")
    assert info.value.problems == [
        Problem("accounts_duplicate_id.csv", 5, "id", "duplicate id 'A1' (first used in row 2)")
    ]


def test_many_errors_are_all_reported_in_file_order() -> None:
    src = "accounts_many_errors.csv"
    with pytest.raises(InputError) as info:
        read_accounts(DATA_DIR / src)
    assert info.value.problems == [
        Problem(src, 3, "id", "duplicate id 'A1' (first used in row 2)"),
        Problem(src, 3, "lat", "missing value"),
        Problem(src, 3, "frequency", UNKNOWN_FREQUENCY),
        Problem(src, 4, "id", "missing value"),
        Problem(src, 4, "lon", "longitude 181 is outside -180..180"),
        Problem(
            src,
            4,
            "opening_hours",
            "opening hours 'Mo-Fr 8-12' do not parse: '8-12' is not a time range HH:MM-HH:MM",
        ),
        Problem(src, 5, "name", "missing value"),
        Problem(src, 5, "visit_minutes", "'abc' is not a number"),
        Problem(src, 5, "last_visit", "bad date '31.02.2026'; use YYYY-MM-DD"),
        Problem(src, 6, "value_class", "unknown value class 'Z'; use A, B or C"),
        Problem(
            src,
            6,
            "visit_minutes",
            "visit of 120 min is longer than every opening window (longest 90 min)",
        ),
        Problem(
            src,
            6,
            "preferred_days",
            "bad weekday list 'Mo,Funday': cannot read 'Funday' (supported: weekdays Mo-Su, "
            "HH:MM-HH:MM, off, 24/7, PH off)",
        ),
    ]
    # the message of the exception lists every problem as file:row: column: message
    assert str(info.value).splitlines()[0] == (
        "accounts_many_errors.csv:3: id: duplicate id 'A1' (first used in row 2)"
    )


def _expected_ok() -> list[Account]:
    return [
        Account(
            account_id="A1",
            name="Bäckerei Müller",
            address="Hauptstraße 1, 69117 Heidelberg",
            location=GeoPoint(49.412, 8.71),
            category="bakery",
            value_class="A",
            visit_rule=VisitRule.parse("weekly"),
            visit_duration_s=20 * 60,
            opening_hours=parse_opening_hours("Mo-Fr 06:30-18:00; Sa 06:30-13:00"),
            last_visit=date(2026, 11, 2),
        ),
        Account(
            account_id="A2",
            name="Apotheke am Bismarckplatz",
            address="Bismarckplatz 3, 69115 Heidelberg",
            location=GeoPoint(49.4093, 8.693),
            category="pharmacy",
            value_class="B",
            visit_rule=VisitRule.parse("every 2 weeks"),
            visit_duration_s=30 * 60,
            opening_hours=parse_opening_hours("Mo-Fr 08:30-18:30; Sa 08:30-13:00"),
        ),
    ]


def test_good_file_gives_exact_accounts() -> None:
    assert read_accounts(DATA_DIR / "accounts_ok.csv") == _expected_ok()


def test_utf8_with_bom_and_crlf_reads_like_plain_utf8() -> None:
    assert (DATA_DIR / "accounts_bom.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_accounts(DATA_DIR / "accounts_bom.csv") == _expected_ok()


def test_semicolon_csv_with_decimal_commas() -> None:
    assert read_accounts(DATA_DIR / "accounts_semicolon.csv") == _expected_ok()


def test_unknown_x_prefixed_column_is_ignored(tmp_path: Path) -> None:
    text = (DATA_DIR / "accounts_ok.csv").read_text(encoding="utf-8").splitlines()
    lines = [text[0] + ",x_crm_id"] + [line + ",4711" for line in text[1:]]
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert read_accounts(path) == _expected_ok()


def test_header_names_are_case_and_blank_insensitive(tmp_path: Path) -> None:
    text = (DATA_DIR / "accounts_ok.csv").read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    path = tmp_path / "accounts.csv"
    path.write_text(header.replace("visit_minutes", "Visit Minutes").upper() + "\n" + rest, "utf-8")
    assert read_accounts(path) == _expected_ok()


def _write_xlsx(path: Path, rows: list[list[object]]) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)


def test_xlsx_import_with_native_numbers_and_dates(tmp_path: Path) -> None:
    path = tmp_path / "kunden.xlsx"
    cols = ["id", "name", "address", "lat", "lon", "category", "value_class", "frequency"]
    cols += ["visit_minutes", "opening_hours", "last_visit"]
    _write_xlsx(
        path,
        [
            cols,
            [
                "A1",
                "Bäckerei Müller",
                "Hauptstraße 1, 69117 Heidelberg",
                49.412,
                8.71,
                "bakery",
                "A",
                "weekly",
                20,
                "Mo-Fr 06:30-18:00; Sa 06:30-13:00",
                date(2026, 11, 2),
            ],
            [
                "A2",
                "Apotheke am Bismarckplatz",
                "Bismarckplatz 3, 69115 Heidelberg",
                49.4093,
                8.693,
                "pharmacy",
                "B",
                "every 2 weeks",
                30.0,
                "Mo-Fr 08:30-18:30; Sa 08:30-13:00",
                None,
            ],
        ],
    )
    assert read_accounts(path) == _expected_ok()


def test_xlsx_errors_carry_spreadsheet_rows(tmp_path: Path) -> None:
    path = tmp_path / "kunden.xlsx"
    _write_xlsx(
        path,
        [
            ["id", "name", "lat", "lon", "frequency"],
            ["A1", "Café Schäfer", 49.41, 8.69, "weekly"],
            ["A2", "Metzgerei Köhler", 91, 8.69, "weekly"],
            ["A3", "Blumen Weiß", "n/a", 8.7, "daily-ish"],
        ],
    )
    with pytest.raises(InputError) as info:
        read_accounts(path)
    assert info.value.problems == [
        Problem("kunden.xlsx", 3, "lat", "latitude 91 is outside -90..90"),
        Problem("kunden.xlsx", 4, "lat", "'n/a' is not a number"),
        Problem(
            "kunden.xlsx",
            4,
            "frequency",
            "unknown frequency 'daily-ish'; use weekly, biweekly, monthly, "
            "'every N days|weeks' or 'K per N weeks'",
        ),
    ]


def test_file_that_looks_like_xlsx_but_is_broken(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError) as info:
        read_accounts(path)
    (problem,) = info.value.problems
    assert (problem.source, problem.row, problem.field) == ("broken.xlsx", None, None)
    assert problem.message.startswith("cannot read the file as an XLSX workbook (")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_accounts(tmp_path / "nope.csv")
    assert info.value.problems == [Problem("nope.csv", None, None, "file not found")]


def test_defaults_for_optional_columns() -> None:
    data = "id,name,lat,lon,frequency\nA1,Kiosk Özdemir,49.4,8.7,every 4 weeks\n".encode()
    (account,) = read_accounts_bytes(data, source="upload.csv")
    assert account.visit_duration_s == 30 * 60
    assert account.value_class == "B"
    assert account.opening_hours == parse_opening_hours("24/7")
    assert account.visit_rule.interval_days == 28


def test_gap_overrides_keep_the_other_default() -> None:
    data = b"id,name,lat,lon,frequency,max_gap_days\nA1,X,49.4,8.7,weekly,12\n"
    (account,) = read_accounts_bytes(data, source="upload.csv")
    # weekly defaults to 6..9 days (25 % slack); only the maximum is overridden
    assert (account.visit_rule.min_gap_days, account.visit_rule.max_gap_days) == (5, 12)


def _rich_account() -> Account:
    return Account(
        account_id="K-0042",
        name="Bäckerei Müller & Söhne „Zum Brezelkönig“",
        location=GeoPoint(49.40767, 8.690613),
        visit_rule=VisitRule.parse("3 per 4 weeks", min_gap_days=4, max_gap_days=13),
        visit_duration_s=45 * 60,
        opening_hours=parse_opening_hours("Mo-Fr 06:30-12:30,14:00-18:00; Sa 06:30-13:00"),
        address="Große Mantelgasse 7, 69117 Heidelberg",
        category="bakery",
        value_class="A",
        preferred_weekdays=frozenset({1, 3}),
        forbidden_weekdays=frozenset({5}),
        last_visit=date(2026, 11, 13),
        notes='Lieferung über Hof; "Chef" Jürgen nur vormittags\nzweite Zeile',
        contact="Frau Weiß",
        phone="+49 6221 123456",
        tags=frozenset({"key account", "süß"}),
    )


def test_export_then_import_is_lossless_with_umlauts(tmp_path: Path) -> None:
    accounts = [
        _rich_account(),
        replace(_rich_account(), account_id="K-0043", opening_hours=parse_opening_hours("24/7")),
        *_expected_ok(),
    ]
    path = tmp_path / "out.csv"
    write_accounts_csv(accounts, path)
    raw = path.read_bytes()
    assert "Bäckerei Müller & Söhne „Zum Brezelkönig“".encode() in raw  # plain UTF-8 on disk
    assert read_accounts(path) == accounts
    assert accounts_to_csv(accounts) == raw.decode("utf-8")
    assert raw.decode("utf-8").split("\n", 1)[0] == ",".join(ACCOUNT_COLUMNS)


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n"),
    max_size=30,
).map(str.strip)
_TAG = _TEXT.map(lambda t: t.replace(",", " ").replace(";", " ").strip()).filter(bool)
_WEEKDAYS = st.frozensets(st.integers(0, 6))
_ID = st.from_regex(r"\w[\w.:@+\-]{0,20}", fullmatch=True)  # see routeplanner.model.ids


@st.composite
def accounts(draw: st.DrawFn) -> Account:
    """Arbitrary valid accounts: Monday always fits the visit, so every cross-check passes."""
    visit_s = draw(st.integers(1, 120 * 60))
    start = draw(st.integers(0, 600)) * 60
    monday = TimeWindow(start, start + -(-visit_s // 60) * 60 + draw(st.integers(0, 600)) * 60)
    other = tuple(
        tuple(
            TimeWindow(a * 60, b * 60)
            for a, b in draw(
                st.lists(st.tuples(st.integers(0, 700), st.integers(701, 1440)), max_size=2)
            )
        )
        for _ in range(6)
    )
    forbidden = draw(_WEEKDAYS) - {0}
    preferred = draw(_WEEKDAYS) - forbidden
    frequency = draw(
        st.sampled_from(
            ["weekly", "every 2 weeks", "every 10 days", "2 per week", "3 per 4 weeks", "monthly"]
        )
    )
    return Account(
        account_id=draw(_ID),
        name=draw(_TEXT.filter(bool)),
        location=GeoPoint(
            draw(st.floats(-90, 90)), draw(st.floats(-180, 180).filter(lambda x: x != 0))
        ),
        visit_rule=VisitRule.parse(frequency),
        visit_duration_s=visit_s,
        opening_hours=WeeklyHours(((monday,), *other)),
        address=draw(_TEXT),
        category=draw(_TEXT),
        value_class=draw(st.sampled_from(["A", "B", "C"])),
        preferred_weekdays=preferred,
        forbidden_weekdays=forbidden,
        last_visit=draw(st.none() | st.dates(date(2000, 1, 1), date(2100, 1, 1))),
        notes=draw(_TEXT),
        contact=draw(_TEXT),
        phone=draw(_TEXT),
        tags=draw(st.frozensets(_TAG, max_size=3)),
        postcode=draw(_TEXT),
        locked_rep_id=draw(st.none() | _ID),
        required_qualifications=draw(st.frozensets(_TAG, max_size=2)),
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(accounts(), min_size=1, max_size=4, unique_by=lambda a: a.account_id))
def test_any_valid_accounts_round_trip(items: list[Account]) -> None:
    text = accounts_to_csv(items)
    assert read_accounts_bytes(text.encode("utf-8"), source="x.csv") == items


def test_xlsx_export_then_import_is_lossless(tmp_path: Path) -> None:
    accounts = [_rich_account(), *_expected_ok()]
    path = tmp_path / "accounts.xlsx"
    write_accounts_xlsx(accounts, path)
    sheet = openpyxl.load_workbook(path).active
    assert sheet["D2"].value == 49.40767  # coordinates are number cells, ids stay text
    assert sheet["A2"].value == "K-0042"
    assert read_accounts(path) == accounts


def test_lock_postcode_and_required_qualification_columns(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "id,name,lat,lon,frequency,address,postcode,locked_rep,requires\n"
        'A1,Apotheke Süd,49.4,8.7,weekly,"Römerstraße 1, 69115 Heidelberg",,R2,pharma; Kühlung\n'
        "A2,Bäckerei Müller,49.41,8.71,weekly,Hauptstraße 12,69117,,\n",
        encoding="utf-8",
    )
    first, second = read_accounts(path)
    assert (first.postcode, first.effective_postcode) == ("", "69115")
    assert first.locked_rep_id == "R2"
    assert first.required_qualifications == frozenset({"pharma", "Kühlung"})
    assert (second.postcode, second.effective_postcode) == ("69117", "69117")
    assert second.locked_rep_id is None
    assert second.required_qualifications == frozenset()
