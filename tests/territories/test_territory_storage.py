"""Territories in the database: design -> save -> current -> scheduling, history, and the CLI.

Real SQLite files in ``tmp_path``; straight-line travel so no OSM extract is needed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from territory_factories import make_accounts, make_reps
from test_territory_cli import _write_inputs

from routeplanner.cli import main
from routeplanner.model import Horizon, Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.planner import plan_all
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.storage import Store
from routeplanner.territories.design import design_territories
from routeplanner.travel.haversine import HaversineTravel


def test_design_saved_round_trips_into_scheduling_with_history(tmp_path: Path) -> None:
    accounts = make_accounts(24, 5)
    reps = make_reps(2, 5, accounts)
    plan = design_territories(accounts, reps, HaversineTravel())
    store = Store.open(f"sqlite:///{tmp_path / 'rp.sqlite'}")
    try:
        replace_accounts_and_reps(store, accounts, reps, source="test")
        store.territories.save(plan.territories, cause=OwnershipCause.RULE, user="ann")
        stored = store.territories.all()
        assert {(t.territory_id, t.rep_id, t.account_ids) for t in stored} == {
            (t.territory_id, t.rep_id, t.account_ids) for t in plan.territories
        }
        owner = {a: t.rep_id for t in stored for a in t.account_ids}
        schedule = plan_all(
            store.accounts.all(),
            store.reps.all(),
            stored,
            Horizon(start=date(2026, 3, 2), weeks=1),
            HaversineTravel(),
            max_iterations=10,
        )
        stops = [(s.account_id, r.rep_id) for r in schedule.routes for s in r.stops]
        assert stops, "nothing was scheduled"
        assert all(owner[a] == rep for a, rep in stops)
        # Move one account to the other rep: its history shows both periods and why.
        moved = stored[0].account_ids[0]
        first, second = stored
        realigned = [
            Territory(
                territory_id=first.territory_id,
                name=first.name,
                rep_id=first.rep_id,
                account_ids=first.account_ids[1:],
            ),
            Territory(
                territory_id=second.territory_id,
                name=second.name,
                rep_id=second.rep_id,
                account_ids=(*second.account_ids, moved),
            ),
        ]
        store.territories.save(realigned, cause=OwnershipCause.REALIGNMENT, user="bob")
        history = store.territories.ownership_history(moved)
        assert [(h.rep_id, h.cause, h.changed_by) for h in history] == [
            (first.rep_id, OwnershipCause.RULE, "ann"),
            (second.rep_id, OwnershipCause.REALIGNMENT, "bob"),
        ]
        assert history[0].valid_to == history[1].valid_from
        assert history[0].ended_cause == OwnershipCause.REALIGNMENT
        assert len(store.territories.ownership_history(first.account_ids[1])) == 1
    finally:
        store.close()


def _imported_and_designed(tmp_path: Path, k: int, *design: str) -> tuple[str, list[str]]:
    """30 accounts and ``k`` reps imported into a new SQLite file, then designed and saved."""
    acc, rp = _write_inputs(tmp_path, n=30, k=k)
    url = f"sqlite:///{tmp_path / 'rp.sqlite'}"
    db = ["--database-url", url]
    main(["import", "--accounts", str(acc), "--reps", str(rp), *db])
    main(["territories", "design", "--straight-line", "--quiet", "--save", *design, *db])
    return url, db


def test_cli_design_save_show_realign_apply_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, db = _imported_and_designed(tmp_path, 2, "--user", "ann")
    assert "saved 2 territories" in capsys.readouterr().out
    store = Store.open(url)
    try:
        designed = {a: t.rep_id for t in store.territories.all() for a in t.account_ids}
    finally:
        store.close()
    assert len(designed) == 30
    main(["territories", "show", "--straight-line", *db])
    shown = capsys.readouterr().out
    assert "T-R0" in shown
    assert "T-R1" in shown
    main(["territories", "history", "A0001", *db])
    shown = capsys.readouterr().out
    assert "Ownership of A0001" in shown
    assert f"{designed['A0001']}" in shown
    assert "realignment" in shown  # a design is a realignment from scratch; "rule" is for rules
    assert "design option 1: new design" in shown
    assert "ann" in shown
    main(["territories", "realign", "--straight-line", "--quiet", "--apply", "1", *db])
    assert "saved option 1 as the current territories" in capsys.readouterr().out
    store = Store.open(url)
    try:
        after = {a: t.rep_id for t in store.territories.all() for a in t.account_ids}
        changed = [a for a in after if after[a] != designed[a]]
        for a in changed:
            assert store.territories.ownership_history(a)[-1].cause == OwnershipCause.REALIGNMENT
    finally:
        store.close()
    assert after.keys() == designed.keys()


def test_cli_design_from_the_database_keeps_a_locked_territory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, db = _imported_and_designed(tmp_path, 3)
    store = Store.open(url)
    try:
        first, second, third = store.territories.all()
        # An odd territory a design would never draw, locked as a manager does on the page.
        odd = replace(first, account_ids=first.account_ids[::2], locked=True)
        second = replace(second, account_ids=second.account_ids + first.account_ids[1::2])
        store.territories.save(
            [odd, second, third], cause=OwnershipCause.MANUAL, user="boss", replace_all=True
        )
    finally:
        store.close()
    capsys.readouterr()
    main(["territories", "design", "--straight-line", "--quiet", "--save", *db])
    assert f"keeping 1 locked territories as they are: {odd.territory_id}" in " ".join(
        capsys.readouterr().err.split()
    )
    store = Store.open(url)
    try:
        again = {t.territory_id: t for t in store.territories.all()}
    finally:
        store.close()
    assert again[odd.territory_id].account_ids == odd.account_ids
    assert again[odd.territory_id].locked
    assert sum(len(t.account_ids) for t in again.values()) == 30
    # --keep names a territory that does not exist: refused, nothing stored.
    with pytest.raises(SystemExit) as info:
        main(["territories", "design", "--straight-line", "--quiet", "--keep", "T-X", *db])
    assert info.value.code == 2
    assert "--keep: no territory T-X in the stored territories" in " ".join(
        capsys.readouterr().err.split()
    )


def test_cli_database_without_territories_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acc, rp = _write_inputs(tmp_path, n=10, k=2)
    db = ["--database-url", f"sqlite:///{tmp_path / 'rp.sqlite'}"]
    main(["import", "--accounts", str(acc), "--reps", str(rp), *db])
    with pytest.raises(SystemExit) as info:
        main(["territories", "show", "--straight-line", *db])
    assert info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no territories stored; run design --save" in err
    with pytest.raises(SystemExit) as info:
        main(["territories", "design", "--straight-line", "--accounts", str(acc), *db])
    assert info.value.code == 2
    assert "give both --accounts and --reps, or neither" in " ".join(
        capsys.readouterr().err.split()
    )
