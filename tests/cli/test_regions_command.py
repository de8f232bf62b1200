"""``routeplanner regions import|export|list`` and ``user regions|role``: a region file's
every bad row named as ``file:row: column: message`` with nothing stored; a good file stored,
listed, exported as it was read; managers scoped and made admins."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeplanner.cli import main
from routeplanner.model import Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.storage import Store
from tests.conftest import add_user, small_region
from tests.databases import MigratedSqlite

GOOD = "territory_id,region_id,region_name\nT1,NORD,Nordbaden\nT2,SUED,Suedbaden\n"


@pytest.fixture
def db(tmp_path: Path, migrated_sqlite: MigratedSqlite) -> str:
    url = migrated_sqlite.copy(tmp_path / "regions.sqlite")
    store = Store.open(url)
    accounts, reps = small_region()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    store.territories.save(
        [
            Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1", "A2")),
            Territory(territory_id="T2", name="Sued", rep_id=None, account_ids=("A3",)),
        ],
        cause=OwnershipCause.MANUAL,
        replace_all=True,
    )
    add_user(store, "nora", role="manager")
    add_user(store, "boss")
    add_user(store, "juergen", role="rep", rep_id="R1")
    store.close()
    return url


def run(args: list[str], db: str) -> int:
    try:
        main([*args, "--database-url", db])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_every_bad_row_is_named_and_nothing_is_stored(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "regionen.csv"
    bad.write_text(
        "territory_id,region_id,region_name,regoin\n"
        "T1,NORD,Nordbaden,x\n"  # row 2: fine but for the unknown column
        ",NORD,Nordbaden,\n"  # row 3: no territory
        "T9,NORD,,\n"  # row 4: no such territory
        "T1,SUED,,\n"  # row 5: T1 twice
        "T2,bad id!,,\n"  # row 6: not an id
        "T2,NORD,Nord-Baden,\n",  # row 7: named otherwise than in row 2 (and T2 twice)
        encoding="utf-8",
    )
    assert run(["regions", "import", str(bad)], db) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 6, lines
    assert lines[0].startswith("regionen.csv:1: regoin: unknown column")
    assert "regionen.csv:3: territory_id: missing value" in lines
    assert "regionen.csv:4: territory_id: no territory 'T9'" in lines
    assert "regionen.csv:5: territory_id: territory 'T1' is listed twice (first in row 2)" in lines
    assert any(line.startswith("regionen.csv:6: region_id: 'bad id!'") for line in lines)
    assert "regionen.csv:7: territory_id: territory 'T2' is listed twice (first in row 6)" in lines
    store = Store.open(db)
    try:
        assert store.regions.all() == []
    finally:
        store.close()


def test_region_names_must_agree(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clash = tmp_path / "clash.csv"
    clash.write_text(
        "territory_id,region_id,region_name\nT1,NORD,Nordbaden\nT2,NORD,Nord\n", encoding="utf-8"
    )
    assert run(["regions", "import", str(clash)], db) == 2
    assert capsys.readouterr().err.strip() == (
        "clash.csv:3: region_name: region 'NORD' is named 'Nordbaden' in row 2"
    )


def test_import_list_export_and_scope_a_manager(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "regions.csv"
    good.write_text(GOOD, encoding="utf-8")
    assert run(["regions", "import", str(good)], db) == 0
    assert "imported 2 regions with 2 territories" in capsys.readouterr().out
    assert run(["user", "regions", "nora", "NORD", "WEST"], db) == 2
    assert capsys.readouterr().err.strip() == "command line: REGIONS: no region 'WEST'"
    assert run(["user", "regions", "juergen", "NORD"], db) == 2
    assert "only admins and managers have regions" in capsys.readouterr().err
    assert run(["user", "regions", "nora", "NORD"], db) == 0
    assert "nora manages regions: NORD" in capsys.readouterr().out
    assert run(["regions", "list"], db) == 0
    listed = [line.split() for line in capsys.readouterr().out.strip().splitlines()]
    assert listed == [["NORD", "Nordbaden", "T1", "nora"], ["SUED", "Suedbaden", "T2", "-"]]
    out = tmp_path / "out.csv"
    assert run(["regions", "export", str(out)], db) == 0
    assert out.read_text(encoding="utf-8") == GOOD
    assert run(["regions", "export", "--as", "nora"], db) == 0
    assert capsys.readouterr().out.endswith(
        "territory_id,region_id,region_name\nT1,NORD,Nordbaden\n"
    )
    # a scoped manager may not import the organisation's grouping
    assert run(["regions", "import", str(good), "--as", "nora"], db) == 1
    assert "only an admin may import regions" in capsys.readouterr().err


def test_roles_change_but_the_last_admin_stays(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["user", "role", "boss", "manager"], db) == 2
    assert "the last active admin stays an admin" in capsys.readouterr().err
    assert run(["user", "role", "nora", "admin"], db) == 0
    assert run(["user", "role", "boss", "manager"], db) == 0
    assert run(["user", "role", "juergen", "admin"], db) == 2
    assert "is a rep user" in capsys.readouterr().err
    assert run(["user", "list"], db) == 0
    roles = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert (roles["nora"], roles["boss"]) == ("admin", "manager")
