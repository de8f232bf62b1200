"""The code stays readable: no module over 900 lines, no function over 120 lines.

Sixty lines is the normal size of a function here; 120 is the ceiling the style guide sets, so
this test catches a function that outgrew it before a reviewer has to.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "routeplanner"
MAX_MODULE_LINES = 900
MAX_FUNCTION_LINES = 120
SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_the_package_is_found() -> None:
    assert len(SOURCES) > 50


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_and_function_sizes(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    too_long: list[str] = []
    lines = source.count("\n")
    if lines > MAX_MODULE_LINES:
        too_long.append(f"module has {lines} lines (max {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                too_long.append(
                    f"{node.name} (line {node.lineno}) has {length} lines"
                    f" (max {MAX_FUNCTION_LINES})"
                )
    assert not too_long, f"{path}: " + "; ".join(too_long)
