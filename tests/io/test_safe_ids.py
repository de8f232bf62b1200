"""Ids that could become a path (``../users/3/tokens/2/revoke``) are refused at every entrance,
with an error naming the file, row and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeplanner.assignment import parse_rules
from routeplanner.errors import InputError, Problem
from routeplanner.io.accounts import read_accounts_bytes
from routeplanner.io.reps import read_reps_bytes
from routeplanner.io.territory_export import read_territories_csv
from routeplanner.model.ids import id_problem

EVIL = "../users/3/tokens/2/revoke"
HEADER = "id,name,lat,lon,frequency\n"


@pytest.mark.parametrize("value", ["A001", "K-10023", "Müller_7", "de:hd:42", "a.b+c@d", "_x"])
def test_safe_ids(value: str) -> None:
    assert id_problem(value) is None


@pytest.mark.parametrize(
    "value", [EVIL, "a/b", "..", ".hidden", "K 1", "a?b", "a#b", "50%", "x\\y", '"q"', "", "-a"]
)
def test_unsafe_ids(value: str) -> None:
    assert id_problem(value) is not None


def test_an_account_file_with_a_path_id_names_file_row_and_field() -> None:
    data = (HEADER + "A1,Gut,49.4,8.7,weekly\n" + f"{EVIL},Böse,49.4,8.7,weekly\n").encode()
    with pytest.raises(InputError) as info:
        read_accounts_bytes(data, source="accounts.csv")
    (problem,) = info.value.problems
    assert problem.source == "accounts.csv"
    assert problem.row == 3
    assert problem.field == "id"
    assert EVIL in problem.message
    assert "letters, digits" in problem.message


def test_a_lock_naming_an_unsafe_rep_is_refused() -> None:
    data = b"id,name,lat,lon,frequency,locked_rep\nA1,Gut,49.4,8.7,weekly,R 1/x\n"
    with pytest.raises(InputError) as info:
        read_accounts_bytes(data, source="a.csv")
    assert [(p.row, p.field) for p in info.value.problems] == [(2, "locked_rep")]


def test_a_rep_file_with_an_unsafe_id_is_refused() -> None:
    data = (
        "id,name,home_lat,home_lon,working_hours\nR/1,Jürgen,49.4,8.7,Mo-Fr 08:00-17:00\n"
    ).encode()
    with pytest.raises(InputError) as info:
        read_reps_bytes(data, source="reps.csv")
    problems = info.value.problems
    assert Problem("reps.csv", 2, "id", id_problem("R/1") or "") in problems


def test_a_rule_with_an_unsafe_id_is_refused() -> None:
    rules = [{"id": "x/../y", "criteria": [], "territory": "T/1"}]
    with pytest.raises(InputError) as info:
        parse_rules(rules, source="rules.json")
    fields = {p.field for p in info.value.problems if "letters, digits" in p.message}
    assert fields == {"id", "territory"}


def test_a_territory_file_with_an_unsafe_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "territories.csv"
    path.write_text("territory_id,rep_id,account_id\nT 1,R1,A1\nT2,R1,../x\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_territories_csv(path)
    assert [(p.row, p.field) for p in info.value.problems] == [
        (2, "territory_id"),
        (3, "account_id"),
    ]
