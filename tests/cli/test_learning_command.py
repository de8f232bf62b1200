"""``routeplanner learning``: show planned against actual, confirm, withdraw, bad options."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.storage import LearnedKind, Store
from tests.cli.test_user_command import run
from tests.conftest import small_region
from tests.databases import MigratedSqlite
from tests.services.learning_data import week_in_the_field

FEW = ["--min-drives", "3", "--min-visits", "3"]


@pytest.fixture
def db(tmp_path: Path, migrated_sqlite: MigratedSqlite) -> str:
    url = migrated_sqlite.copy(tmp_path / "learning.sqlite")
    store = Store.open(url)
    accounts, reps = small_region()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    week_in_the_field(store)
    store.close()
    return url


def test_show_confirm_and_withdraw(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["learning", "show", *FEW], db) == 0
    out = capsys.readouterr().out
    assert "R1\t5\t25\t38\tx1.50 (" in out
    assert "A1\t5\t30\t40\t40 min (" in out
    assert run(["learning", "confirm", "travel_factor", "R1", *FEW], db) == 0
    assert "R1: travel_factor 1.50 confirmed" in capsys.readouterr().out
    (value,) = Store.open(db).learned.all()
    assert (value.kind, value.key) == (LearnedKind.TRAVEL_FACTOR, "R1")
    assert run(["learning", "withdraw", "travel_factor", "R1"], db) == 0
    assert Store.open(db).learned.all() == []


def test_bad_options_and_too_few_observations_are_named(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["learning", "show", "--weeks", "0"], db) != 0
    assert "--weeks: must be 1 to 52" in capsys.readouterr().err
    assert run(["learning", "confirm", "travel_factor", "R1"], db) != 0
    assert "5 recorded in the last 8 weeks, 15 needed" in capsys.readouterr().err
    assert run(["learning", "confirm", "speed", "R1"], db) != 0
    assert run(["learning", "withdraw", "visit_seconds", "A1"], db) == 2
    assert "no learned visit_seconds in force" in capsys.readouterr().err
    assert Store.open(db).learned.all() == []
