"""Rebuild ``benchmarks/RESULTS.md`` from ``results/_summary.md`` and each area's results file.

Each benchmark area writes its own ``results/<area>.md`` (so parallel work never conflicts);
this joins them, demoting their headings by one level, in a fixed order.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "roads",
    "travel_model",
    "routing",
    "scheduling_hgs",
    "scheduling",
    "territories",
    "territories_seeds",
    "territories_roadcells",
    "territories_compact",
    "territories_regrow",
    "territories_org",
    "assignment",
    "calendar",
    "web_latency",
    "scale",
    "tests_speed",
    "web_writes",
    "dashboard",
]


def main() -> None:
    parts = [(HERE / "results" / "_summary.md").read_text(encoding="utf-8").rstrip()]
    for name in ORDER:
        path = HERE / "results" / f"{name}.md"
        if path.exists():
            text = path.read_text(encoding="utf-8").rstrip()
            lines = [("#" + line if line.startswith("#") else line) for line in text.splitlines()]
            parts.append("\n".join(lines))
    (HERE / "RESULTS.md").write_text("\n\n".join(parts) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
