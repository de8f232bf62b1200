"""The demo stores the bundled sample assignment rules once its territories exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeplanner.cli.serve import _demo_rules
from routeplanner.model import Territory
from routeplanner.services.imports import read_files as read_inputs
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.settings import SAMPLE_DIR
from routeplanner.storage import Store


def test_sample_rules_fit_the_sample_territories(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    accounts, reps = read_inputs(SAMPLE_DIR / "accounts.csv", SAMPLE_DIR / "reps.csv")
    replace_accounts_and_reps(store, accounts, reps, source="sample_data")
    # The demo's territories are named T-<rep id> by the design; membership does not matter here.
    store.territories.save(
        [Territory(territory_id=f"T-{r.rep_id}", name=r.name, rep_id=r.rep_id) for r in reps],
        cause="import",
        replace_all=True,
    )
    _demo_rules(store)
    rules = store.rules.all()
    assert [r.rule_id for r in rules] == ["key-altstadt", "medical", "schriesheim"]
    segments = {t.territory_id: t.segment for t in store.territories.all()}
    assert segments["T-R1"] == segments["T-R3"] == "medical"
    store.close()


def test_sample_rules_that_do_not_fit_are_skipped_not_fatal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    accounts, reps = read_inputs(SAMPLE_DIR / "accounts.csv", SAMPLE_DIR / "reps.csv")
    replace_accounts_and_reps(store, accounts, reps, source="sample_data")
    _demo_rules(store)  # no territories: the rules' targets do not exist
    assert store.rules.all() == []
    assert "sample rules not stored" in capsys.readouterr().out
    store.close()
