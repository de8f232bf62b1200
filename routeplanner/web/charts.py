"""Small charts drawn on the server as SVG (no script, no network): the dashboard's weekly
trend. Only numbers and dates reach the markup, and both are formatted here."""

from __future__ import annotations

from collections.abc import Sequence

from routeplanner.services.performance import WeekPoint

WIDTH, HEIGHT, PAD = 360, 140, 24


def weekly_chart(weeks: Sequence[WeekPoint]) -> str:
    """Done (green bars) and missed (red line) visits per week, with the first and last
    week's dates under the axis."""
    if not weeks:
        return ""
    top = max(max(w.done, w.missed) for w in weeks) or 1
    step = (WIDTH - 2 * PAD) / len(weeks)

    def y(value: int) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top

    bars = "".join(
        f'<rect class="done" x="{PAD + i * step + 2:.1f}" y="{y(w.done):.1f}" '
        f'width="{max(step - 4, 1):.1f}" height="{HEIGHT - PAD - y(w.done):.1f}">'
        f"<title>week of {w.start:%d.%m.}: {w.done} done, {w.missed} missed</title></rect>"
        for i, w in enumerate(weeks)
    )
    points = " ".join(
        f"{PAD + (i + 0.5) * step:.1f},{y(w.missed):.1f}" for i, w in enumerate(weeks)
    )
    first, last = weeks[0].start, weeks[-1].start
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="Visits done and missed per week">'
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" '
        f'y2="{HEIGHT - PAD}"/>{bars}'
        f'<polyline class="missed" points="{points}" fill="none"/>'
        f'<text x="{PAD}" y="{HEIGHT - 6}">{first:%d.%m.}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 6}" text-anchor="end">{last:%d.%m.}</text>'
        f'<text x="{PAD}" y="{PAD - 8}">{top} visits</text></svg>'
    )
