"""The move use case on a real SQLite store, inline and from the command line: a change of
the territories while the figures are computed is refused whole; without a road network the
move still works."""

from __future__ import annotations

from dataclasses import replace

import pytest

from routeplanner.cli import main
from routeplanner.errors import ConflictError, RoadNetworkError
from routeplanner.model import Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services.scope import Scope
from routeplanner.services.territory_moves import move_accounts
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider
from tests.web.test_territories_page import nearest_home_split, owners, territory_region


@pytest.fixture
def split(store: Store) -> list[Territory]:
    accounts, reps = territory_region()
    with store.transaction() as tx:
        tx.accounts.replace_all(accounts, source="test")
        tx.reps.replace_all(reps, source="test")
    territories = nearest_home_split(accounts, reps)
    store.territories.save(territories, cause=OwnershipCause.IMPORT, user="seed", replace_all=True)
    return store.territories.all()


def test_a_change_meanwhile_is_refused_and_nothing_is_stored(
    store: Store, split: list[Territory]
) -> None:
    source, target = split[0], split[1]
    other = split[2]
    meddled = []

    def travel() -> TravelTimeProvider:
        # another manager moves an account while this request computes its figures
        if not meddled:
            moved = source.account_ids[-1]
            grown = replace(other, account_ids=(*other.account_ids, moved))
            store.territories.save([grown], cause=OwnershipCause.MANUAL, user="someone else")
            meddled.append(moved)
        return HaversineTravel()

    with pytest.raises(ConflictError, match="changed meanwhile"):
        move_accounts(
            store,
            [source.account_ids[0]],
            target.territory_id,
            "boss",
            False,
            travel=travel,
            scope=Scope.everything(),
        )
    now = owners(store.territories.all())
    assert now[source.account_ids[0]] == source.rep_id
    assert now[meddled[0]] == other.rep_id


def test_without_a_road_network_the_move_is_still_made(
    store: Store, split: list[Territory]
) -> None:
    def no_roads() -> TravelTimeProvider:
        raise RoadNetworkError("heidelberg.osm.pbf: OSM file not found")

    source, target = split[0], split[1]
    result = move_accounts(
        store,
        [source.account_ids[0]],
        target.territory_id,
        "boss",
        False,
        travel=no_roads,
        scope=Scope.everything(),
    )
    assert result.applied
    assert result.before.kpis is None
    assert result.after.kpis is None
    assert "OSM file not found" in result.kpi_error
    assert result.after.qualification_conflicts == ()
    assert owners(store.territories.all())[source.account_ids[0]] == target.rep_id


def test_command_line_move_dry_run_then_apply(
    store: Store,
    split: list[Territory],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, target = split[0], split[1]
    aid = source.account_ids[0]
    args = [
        *("territories", "move", aid, "--to", target.territory_id, "--straight-line"),
        *("--database-url", settings.database_url, "--user", "cli-boss"),
    ]
    main([*args, "--dry-run"])
    shown = capsys.readouterr().out
    assert f"Moving 1 account(s) to {target.territory_id}" in shown
    assert "max workload deviation" in shown
    assert "qualification conflicts" in shown
    assert owners(store.territories.all())[aid] == source.rep_id
    main(args)
    assert f"moved 1 account(s) to {target.territory_id}" in capsys.readouterr().out
    assert owners(store.territories.all())[aid] == target.rep_id
    assert store.territories.ownership_history(aid)[-1].changed_by == "cli-boss"
    with pytest.raises(SystemExit) as info:
        main(
            ["territories", "move", "NOPE", "--to", "T-X", "--database-url", settings.database_url]
        )
    assert info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no account 'NOPE'" in err
    assert "no territory 'T-X'" in err
