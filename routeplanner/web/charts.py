"""Small charts drawn on the server as SVG (no script, no network): the dashboard's weekly
trend, in all and per territory. Only numbers, dates and escaped labels reach the markup, all
formatted here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from routeplanner.services.performance import WeekPoint

WIDTH, HEIGHT, PAD = 360, 140, 24
SMALL_WIDTH, SMALL_HEIGHT = 240, 110


def weekly_chart(
    weeks: Sequence[WeekPoint],
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    label: str = "Visits done and missed per week",
) -> str:
    """Done (green bars) and missed (red line) visits per week, with the first and last
    week's dates under the axis; ``label`` (escaped here) names the chart for screen readers."""
    if not weeks:
        return ""
    top = max(max(w.done, w.missed) for w in weeks) or 1
    step = (width - 2 * PAD) / len(weeks)

    def y(value: int) -> float:
        return height - PAD - (height - 2 * PAD) * value / top

    bars = "".join(
        f'<rect class="done" x="{PAD + i * step + 2:.1f}" y="{y(w.done):.1f}" '
        f'width="{max(step - 4, 1):.1f}" height="{height - PAD - y(w.done):.1f}">'
        f"<title>week of {w.start:%d.%m.}: {w.done} done, {w.missed} missed</title></rect>"
        for i, w in enumerate(weeks)
    )
    points = " ".join(
        f"{PAD + (i + 0.5) * step:.1f},{y(w.missed):.1f}" for i, w in enumerate(weeks)
    )
    first, last = weeks[0].start, weeks[-1].start
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label, quote=True)}">'
        f'<line class="axis" x1="{PAD}" y1="{height - PAD}" x2="{width - PAD}" '
        f'y2="{height - PAD}"/>{bars}'
        f'<polyline class="missed" points="{points}" fill="none"/>'
        f'<text x="{PAD}" y="{height - 6}">{first:%d.%m.}</text>'
        f'<text x="{width - PAD}" y="{height - 6}" text-anchor="end">{last:%d.%m.}</text>'
        f'<text x="{PAD}" y="{PAD - 8}">{top} visits</text></svg>'
    )


def territory_charts(
    weeks: Mapping[str, Sequence[WeekPoint]], names: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """(id, name, chart) of each territory's weekly trend, small enough to show side by side."""
    found = []
    for territory_id, points in weeks.items():
        name = names.get(territory_id) or territory_id
        label = f"Visits done and missed per week in {name}"
        chart = weekly_chart(points, width=SMALL_WIDTH, height=SMALL_HEIGHT, label=label)
        found.append((territory_id, name, chart))
    return found
