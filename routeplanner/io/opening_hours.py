"""OSM ``opening_hours`` (the common subset) to :class:`WeeklyHours` and back.

Account files copy opening hours from OpenStreetMap or from a CRM that uses the same syntax, so
the parser accepts what real tags contain (``Mo-Fr 08:00-18:00; Sa 09:00-13:00``, ``24/7``,
``Su,PH off``, day wrap ``Fr-Mo``, additional rules after a comma) and rejects the rest with a
message that names the offending piece. Anything it cannot represent exactly as a weekly pattern
(month or date ranges, sunrise, open end ``10:00+``, times past midnight) is refused rather than
guessed: a wrong opening window silently produces visits at closed doors.

Semantics follow the OSM specification: a later ``;`` rule replaces the hours of the weekdays it
names, an additional rule after ``,`` adds to them, and a rule without weekdays applies to every
day. Public and school holiday selectors (``PH``, ``SH``) are ignored, because holidays are handled
by the calendar of the scheduler, not by weekly hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from routeplanner.model.calendar import WEEKDAYS, TimeWindow, WeeklyHours
from routeplanner.units import DAY, parse_hhmm

__all__ = [
    "format_opening_hours",
    "parse_opening_hours",
    "parse_time_range",
    "parse_weekdays",
]

# German abbreviations are accepted too because account lists from German CRMs use them; none of
# them collides with an English one (Mo, Fr and Sa mean the same day in both languages).
_DAY_NAMES: dict[str, int] = {name.lower(): i for i, name in enumerate(WEEKDAYS)}
_DAY_NAMES.update({"di": 1, "mi": 2, "do": 3, "so": 6})
_HOLIDAYS = {"ph", "sh"}
_CLOSED = {"off", "closed"}
_MONTHS = {
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
}
_TOKEN = re.compile(
    r"\s*(?:(?P<always>24/7)"
    r"|(?P<time>\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2})"
    r"|(?P<word>[^\W\d_]+(?:\s*-\s*[^\W\d_]+)?)"
    r"|(?P<comma>,)"
    r"|(?P<colon>:)"
    r"|(?P<other>\S+?(?=[\s,;]|$)))"
)
_RANGE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str


def _tokens(rule: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(rule):
        if not rule[pos:].strip():
            break
        match = _TOKEN.match(rule, pos)
        if match is None or match.end() == pos:  # pragma: no cover - _TOKEN matches any \S
            msg = f"cannot read {rule[pos:].strip()!r}"
            raise ValueError(msg)
        kind = match.lastgroup or "other"
        out.append(_Token(kind, " ".join(match.group(kind).split())))
        pos = match.end()
    return out


def _unknown_word(word: str) -> ValueError:
    first = word.split("-")[0].strip()
    if first.lower() in _MONTHS:
        return ValueError(f"month selectors such as {first!r} are not supported")
    if len(first) == 2:
        return ValueError(f"unknown weekday {first!r}")
    return ValueError(
        f"cannot read {word!r} (supported: weekdays Mo-Su, HH:MM-HH:MM, off, 24/7, PH off)"
    )


def _day_item(word: str) -> list[int] | None:
    """Weekdays of one selector item (``Mo`` or ``Fr-Mo``); ``None`` for a holiday selector."""
    parts = [p.strip() for p in word.split("-")]
    if len(parts) == 1 and parts[0].lower() in _HOLIDAYS:
        return None
    days: list[int] = []
    for part in parts:
        if part.lower() not in _DAY_NAMES:
            raise _unknown_word(part)
        days.append(_DAY_NAMES[part.lower()])
    if len(days) == 1:
        return days
    first, last = days
    # A range that "goes backwards" wraps over the week end (Fr-Mo = Fr, Sa, Su, Mo), as in OSM.
    return [(first + k) % 7 for k in range((last - first) % 7 + 1)]


def parse_time_range(text: str) -> TimeWindow:
    """Read ``HH:MM-HH:MM`` within one day (``24:00`` allowed as the end).

    Raises
    ------
    ValueError
        With the reason, e.g. ``time range 18:00-08:00 ends before it starts``.
    """
    match = _RANGE.match(text)
    if match is None:
        msg = f"{text.strip()!r} is not a time range HH:MM-HH:MM"
        raise ValueError(msg)
    start, end = parse_hhmm(match.group(1)), parse_hhmm(match.group(2))
    shown = f"{match.group(1)}-{match.group(2)}"
    if start >= DAY:
        msg = f"time range {shown} starts at the end of the day"
        raise ValueError(msg)
    if end < start:
        msg = f"time range {shown} ends before it starts"
        raise ValueError(msg)
    if end == start:
        msg = f"time range {shown} is empty"
        raise ValueError(msg)
    return TimeWindow(start, end)


def parse_weekdays(text: str) -> frozenset[int]:
    """Read a weekday list such as ``Mo,We``, ``Mo-Fr`` or ``Sa Su`` into weekday numbers.

    Commas, semicolons and blanks all separate items, so the list survives any CSV dialect.
    """
    days: set[int] = set()
    for item in re.split(r"[,;\s]+", re.sub(r"\s*-\s*", "-", text.strip())):
        if not item:
            continue
        found = _day_item(item)
        if found is None:
            msg = f"holiday selector {item!r} is not a weekday"
            raise ValueError(msg)
        days.update(found)
    return frozenset(days)


def _apply(
    week: list[list[TimeWindow]],
    days: list[int] | None,
    windows: list[TimeWindow],
    *,
    replace: bool,
) -> None:
    targets = range(7) if days is None else days
    for d in targets:
        if replace:
            week[d] = list(windows)
        else:
            week[d].extend(windows)


def _parse_rule(rule: str, week: list[list[TimeWindow]]) -> None:
    tokens = _tokens(rule)
    i = 0
    replace = True  # the first part of a ';' rule overrides, later ',' parts add
    while i < len(tokens):
        # weekday selector: items separated by commas, optionally followed by ':'
        days: list[int] | None = None
        holiday_only = False
        while i < len(tokens) and tokens[i].kind == "word":
            word = tokens[i].text
            if word.lower() in _CLOSED:
                break
            item = _day_item(word)
            if item is None:
                holiday_only = days is None
            else:
                days = (days or []) + item
                holiday_only = False
            i += 1
            if i + 1 < len(tokens) and tokens[i].kind == "comma" and tokens[i + 1].kind == "word":
                if tokens[i + 1].text.lower() in _CLOSED:
                    msg = "a comma before 'off' has no weekday after it"
                    raise ValueError(msg)
                i += 1
        if i < len(tokens) and tokens[i].kind == "colon":
            i += 1
        if i >= len(tokens):
            msg = f"rule {rule.strip()!r} has no times (add e.g. 08:00-18:00 or off)"
            raise ValueError(msg)
        tok = tokens[i]
        windows: list[TimeWindow] = []
        if tok.kind == "word" and tok.text.lower() in _CLOSED:
            i += 1
            closing = True
        elif tok.kind == "always":
            windows = [TimeWindow(0, DAY)]
            i += 1
            closing = False
        elif tok.kind == "time":
            closing = False
            while True:
                windows.append(parse_time_range(tokens[i].text))
                i += 1
                if (
                    i + 1 < len(tokens)
                    and tokens[i].kind == "comma"
                    and tokens[i + 1].kind == "time"
                ):
                    i += 1
                    continue
                break
        elif tok.kind == "word":
            raise _unknown_word(tok.text)
        elif tok.text[:1].isdigit():
            msg = f"{tok.text!r} is not a time range HH:MM-HH:MM"
            raise ValueError(msg)
        else:
            msg = f"cannot read {tok.text!r} in rule {rule.strip()!r}"
            raise ValueError(msg)
        if not holiday_only:
            _apply(week, days, [] if closing else windows, replace=replace or closing)
        if i < len(tokens):
            if tokens[i].kind != "comma" or i + 1 >= len(tokens):
                msg = f"cannot read {tokens[i].text!r} in rule {rule.strip()!r}"
                raise ValueError(msg)
            i += 1
            replace = False


def parse_opening_hours(text: str) -> WeeklyHours:
    """Read OSM ``opening_hours`` text into weekly hours.

    Parameters
    ----------
    text
        For example ``Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-13:00; PH off``.

    Raises
    ------
    ValueError
        Naming the first piece that is not understood, e.g. ``unknown weekday 'Mx'``.
    """
    if not text.strip():
        msg = "opening hours are empty"
        raise ValueError(msg)
    if "||" in text:
        msg = "fallback rules ('||') are not supported"
        raise ValueError(msg)
    week: list[list[TimeWindow]] = [[] for _ in range(7)]
    for rule in text.split(";"):
        if not rule.strip():
            continue
        _parse_rule(rule, week)
    return WeeklyHours(tuple(tuple(d) for d in week))


def format_opening_hours(hours: WeeklyHours) -> str:
    """Render hours for a file: ``24/7`` for always-open, else ``str(hours)``."""
    if hours == WeeklyHours.always():
        return "24/7"
    return str(hours)
