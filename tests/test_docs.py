"""The docs must stay true: a short README, references generated from the code, working links.

The command-line and settings references are compared with what the generator writes now, so a
new command, option or setting fails here until `make docs` has been run. Commands named in the
hand-written pages must exist with the options they are shown with.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from routeplanner.cli import _register, app
from routeplanner.cli.reference import REFERENCES, command_paths
from routeplanner.settings import Settings
from tests.helpers import REPO

README_PATH = REPO / "README.md"
README = README_PATH.read_text(encoding="utf-8")
DOCS = REPO / "docs"
GENERATED = {DOCS / name for name in REFERENCES}
WRITTEN = [README_PATH, *sorted(p for p in DOCS.glob("*.md") if p not in GENERATED)]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_README_BYTES = 8 * 1024
MAX_SCREENSHOT_BYTES = 100 * 1024
MAX_COLUMNS = 100


def test_quick_start_is_exactly_two_make_commands() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for target in ("run", "test", "bench", "lint", "docs"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target


def test_ci_calls_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_readme_is_short() -> None:
    size = len(README.encode("utf-8"))
    assert size <= MAX_README_BYTES, f"README.md is {size} bytes; move detail into docs/"


def test_readme_shows_one_small_screenshot_that_can_be_retaken() -> None:
    images = re.findall(r'<img src="([^"]+)"|!\[[^\]]*\]\(([^)]+)\)', README)
    paths = [html or markdown for html, markdown in images]
    assert len(paths) == 1, paths
    image = REPO / paths[0]
    assert image.parent == DOCS / "images", image
    data = image.read_bytes()
    assert data.startswith(PNG_SIGNATURE), f"{image} is not a PNG"
    assert len(data) <= MAX_SCREENSHOT_BYTES, f"{image} is {len(data)} bytes"
    width = int.from_bytes(data[16:20], "big")
    assert 300 <= width <= 1280, f"{image} is {width} px wide"
    script = (DOCS / "screenshot.py").read_text(encoding="utf-8")
    assert f'"{image.name}"' in script, "docs/screenshot.py does not write the README's image"


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_generated_reference_matches_the_code(name: str) -> None:
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == REFERENCES[name](), f"docs/{name} is stale: run `make docs`"


def test_every_setting_has_a_description() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no Field(description=...)"


def _command(path: tuple[str, ...]) -> Any:
    import typer.main

    command: Any = typer.main.get_command(app)
    for word in path:
        command = command.commands[word]
    return command


def test_every_command_and_option_has_help_and_help_works() -> None:
    _register()
    paths = command_paths()
    assert ("territories", "design") in paths, paths
    assert ("plan",) in paths, paths
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output, (path, result.output)
        command = _command(path)
        assert command.help, f"command {path} has no help text"
        for param in command.params:
            assert getattr(param, "help", None), f"{path} {param.name} has no help text"


def _command_mentions(text: str) -> list[str]:
    """``routeplanner ...`` as written in code blocks and inline code, comments cut off."""
    mentions = []
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    for block in blocks:
        for line in block.splitlines():
            code = line.split(" #")[0].strip()
            if code.startswith("routeplanner "):
                mentions.append(code)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    for span in re.findall(r"`([^`]+)`", prose):
        if span.startswith("routeplanner "):
            mentions.append(" ".join(span.split()))
    return mentions


def _options_of(path: tuple[str, ...]) -> set[str]:
    names = {"--help"}
    for param in _command(path).params:
        names.update(param.opts)
        names.update(param.secondary_opts)
    return names


def _check_mention(mention: str, paths: set[tuple[str, ...]]) -> list[str]:
    """Problems with one mention: an unknown command, subcommand or option."""
    path: tuple[str, ...] = ()
    problems = []
    for token in mention.split()[1:]:
        if token.startswith(("-", "[-")):
            for option in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", token):
                if option not in _options_of(path):
                    problems.append(f"{mention!r}: {option} is not an option of {path}")
        elif any(p[: len(path) + 1] == (*path, token) for p in paths):
            path = (*path, token)
        elif any(len(p) > len(path) and p[: len(path)] == path for p in paths) and token != "...":
            problems.append(f"{mention!r}: {token!r} is not a command under {path}")
    if not path and not {"--help", "..."} & set(mention.split()):
        problems.append(f"{mention!r} names no command")
    return problems


@pytest.mark.parametrize("page", WRITTEN, ids=lambda p: p.name)
def test_commands_in_the_docs_exist_with_their_options(page: Path) -> None:
    _register()
    paths = set(command_paths())
    mentions = _command_mentions(page.read_text(encoding="utf-8"))
    problems = [problem for mention in mentions for problem in _check_mention(mention, paths)]
    assert not problems, "\n".join(problems)


def test_the_mention_check_catches_unknown_commands_and_options() -> None:
    _register()
    paths = set(command_paths())
    assert _check_mention("routeplanner territories design --save --user anna", paths) == []
    assert _check_mention("routeplanner --debug plan --weeks 4", paths) == []
    assert _check_mention("routeplanner territories redesign", paths)
    assert _check_mention("routeplanner plan --wekes 4", paths)
    assert _check_mention("routeplanner frobnicate", paths)


@pytest.mark.parametrize("page", [*WRITTEN, *sorted(GENERATED)], ids=lambda p: p.name)
def test_lines_fit_a_100_column_editor(page: Path) -> None:
    long_lines = []
    in_code = False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and len(line) > MAX_COLUMNS:
            long_lines.append(f"{page.name}:{number}: {len(line)} characters")
    assert not long_lines, "\n".join(long_lines)


@pytest.mark.parametrize("page", [*WRITTEN, *sorted(GENERATED)], ids=lambda p: p.name)
def test_relative_links_point_at_files(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    missing = []
    for target in targets:
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        if not (page.parent / target.split("#")[0]).exists():
            missing.append(target)
    assert not missing, f"{page.name} links to missing files: {missing}"


def test_readme_links_every_docs_page() -> None:
    linked = set(re.findall(r"\(docs/([\w-]+\.md)", README))
    pages = {p.name for p in DOCS.glob("*.md")}
    assert pages <= linked, f"docs pages the README does not link: {sorted(pages - linked)}"


def test_settings_take_keyword_overrides_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A keyword must win over the default (the CLI's --database-url and tests rely on it)."""
    assert Settings(database_url="sqlite:///x.db").database_url == "sqlite:///x.db"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings().database_url == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("RP_MAX_SNAP_M", "250")
    assert Settings().max_snap_m == 250.0
