"""Shared test helpers: paths, factories and the rule that missing tools fail under CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = Path(__file__).resolve().parent / "data"
SAMPLE_DIR = REPO / "sample_data"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Skip locally when a tool is missing, but fail under ``CI=true``.

    CI installs every tool the tests need, so a missing one there is a broken pipeline, not a
    reason to pass quietly.
    """
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required tool missing in CI: {what}")
    pytest.skip(f"tool missing: {what}")
