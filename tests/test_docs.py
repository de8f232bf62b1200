"""The README must stay true: quick-start targets exist, every setting and command is documented."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from routeplanner.cli import _register, app
from routeplanner.settings import Settings
from tests.helpers import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_quick_start_is_exactly_two_make_commands() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for target in ("run", "test", "bench", "lint"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target


def test_ci_calls_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_every_setting_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        env = "DATABASE_URL" if name == "database_url" else f"RP_{name.upper()}"
        assert f"`{env}`" in README, f"{env} missing from README"
        assert field.description, f"setting {name} has no description"


def test_every_command_in_help_is_documented() -> None:
    _register()
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    listed = set(re.findall(r"│ (\w[\w-]*) ", result.output))
    assert listed, result.output
    for command in listed:
        assert f"`routeplanner {command}" in README, f"command {command} missing from README"


def test_settings_take_keyword_overrides_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A keyword must win over the default (the CLI's --database-url and tests rely on it)."""
    assert Settings(database_url="sqlite:///x.db").database_url == "sqlite:///x.db"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings().database_url == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("RP_MAX_SNAP_M", "250")
    assert Settings().max_snap_m == 250.0
