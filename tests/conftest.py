"""Session-wide fixtures; heavier ones (road graph, database, app) live next to their tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import REPO


@pytest.fixture(scope="session")
def road_cache_dir() -> Path:
    """One prepared-graph cache for the whole run (keyed on file hash, so sharing is safe).

    It lives under ``var/`` rather than a temp dir so repeated local runs skip the cold build;
    CI starts from a clean clone and so always exercises the cold path once.
    """
    path = REPO / "var" / "test-cache"
    path.mkdir(parents=True, exist_ok=True)
    return path
