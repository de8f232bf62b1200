"""Plans as iCalendar (RFC 5545) feeds: visit events, stable UIDs across re-plans, serialisation.

Three pure steps, plain data in and out, so web, CLI and tests share them:

1. :func:`visit_events` turns a plan's stops into :class:`VisitEvent` (times from the stop's start
   and departure on the route's day in the horizon's time zone, converted to UTC).
2. :func:`reconcile_feed` matches those events with the rep's previously published
   :class:`~routeplanner.model.feed.FeedEntry` list: per account, occurrences are paired by
   nearest date, so a moved visit keeps its UID and gets SEQUENCE + 1 and a new LAST-MODIFIED;
   an old occurrence without a partner is sent as STATUS:CANCELLED (SEQUENCE + 1) until
   ``keep_cancelled`` has passed; occurrences before the new plan's horizon are history, left
   alone (for ``keep_past``).
3. :func:`render_feed` writes the calendar.

Library decision: generation uses the ``ics`` package (0.7) named in the design for the
calendar and event objects, escaping and UTC formatting. ``ics`` 0.7 cannot do four things this
feed needs, so they are added around it rather than switching libraries:

- SEQUENCE and the calendar's REFRESH-INTERVAL / X-PUBLISHED-TTL / X-WR-CALNAME / METHOD have no
  attribute: they go in as raw ``ContentLine`` objects through the documented ``extra`` container.
- It never folds lines (RFC 5545 3.1 requires lines of at most 75 octets): :func:`fold_lines`
  post-processes the output, splitting on UTF-8 character boundaries.
- It writes no VTIMEZONE and converts aware times to UTC (``...Z``). That is a valid choice of
  RFC 5545 (form 2, UTC time) and is exact across daylight-saving changes, because the local
  wall-clock time is converted with the IANA zone before writing; we keep it, and add
  X-WR-TIMEZONE as a display hint.
- Event order in ``Calendar.events`` is a set (hash order): events are serialised one by one in
  (start, UID) order so equal input gives byte-identical output (stable ETags, diffable files).
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from ics import Calendar, Event
from ics.grammar.parse import ContentLine

from routeplanner.model import Account, Horizon, Plan
from routeplanner.model.feed import FeedEntry, FeedStatus
from routeplanner.units import Seconds

PRODID = "-//routeplanner//calendar feed//EN"
MAX_LINE_OCTETS = 75
_LINE_BREAK = re.compile(r"\r\n|[\r\n\v\f\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitEvent:
    """One planned visit ready for a calendar, before it has a UID."""

    rep_id: str
    account_id: str
    day: date
    start: datetime
    end: datetime
    summary: str
    location: str = ""
    geo: tuple[float, float] | None = None
    description: str = ""
    categories: tuple[str, ...] = ()
    url: str = ""
    travel_start: datetime | None = None

    def content(self) -> dict[str, str]:
        """The rendered fields as strings: what is stored and what the hash covers."""
        return {
            "start": _iso(self.start),
            "end": _iso(self.end),
            "summary": self.summary,
            "location": self.location,
            "lat": "" if self.geo is None else f"{self.geo[0]:.6f}",
            "lon": "" if self.geo is None else f"{self.geo[1]:.6f}",
            "description": self.description,
            "categories": "\n".join(self.categories),
            "url": self.url,
            "travel_start": "" if self.travel_start is None else _iso(self.travel_start),
        }


def content_hash(content: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()[:32]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)  # Python 3.11 reads the trailing "Z" as UTC


def _minutes(seconds: Seconds) -> str:
    return f"{round(seconds / 60)} min"


def stop_path(rep_id: str, day: date) -> str:
    """Path of the rep's day page in the web app (stop list, map, navigation links); events
    add ``#stop-N``, the anchor of the N-th stop on that page.

    Stored relative and made absolute by :func:`render_feed`, so the server's public address
    can change (or differ between web and CLI) without every event getting a new SEQUENCE.
    """
    return f"/route?{urlencode({'rep': rep_id, 'day': day.isoformat()})}"


def visit_events(
    plan: Plan,
    horizon: Horizon,
    accounts: Mapping[str, Account],
    *,
    rep_ids: Collection[str],
    called_off: Collection[str] = (),
) -> list[VisitEvent]:
    """Every stop of ``rep_ids`` in ``plan`` as an event, in (rep, day, order) order.

    A stop whose account is no longer stored still gets an event (named by its id): the plan,
    not the account table, says the visit is planned. Stops whose visit id is in
    ``called_off`` (reported missed or cancelled) get none: their event is cancelled, or moves
    to the visit that makes up for it, at once, even while the plan still shows them.
    """
    events: list[VisitEvent] = []
    for route in sorted(plan.routes, key=lambda r: (r.rep_id, r.day)):
        if route.rep_id not in rep_ids:
            continue
        day_url = stop_path(route.rep_id, route.day)
        previous = "home"
        for number, stop in enumerate(route.stops, start=1):
            if stop.visit_id in called_off:
                continue
            url = f"{day_url}#stop-{number}"
            account = accounts.get(stop.account_id)
            name = account.name if account is not None else stop.account_id
            start = horizon.to_datetime(route.day, stop.start_s).astimezone(UTC)
            end = horizon.to_datetime(route.day, stop.departure_s).astimezone(UTC)
            travel_start = None
            if stop.travel_s > 0:
                travel_start = horizon.to_datetime(
                    route.day, stop.arrival_s - stop.travel_s
                ).astimezone(UTC)
            lines = [f"Stop {number} of {len(route.stops)} on the route."]
            categories = ["Visit"]
            location, geo = "", None
            if account is not None:
                if account.contact or account.phone:
                    contact = ", ".join(p for p in (account.contact, account.phone) if p)
                    lines.append(f"Contact: {contact}")
                lines.append(f"Reason: {account.visit_rule} visit (class {account.value_class})")
                if account.notes:
                    lines.append(f"Notes: {account.notes}")
                location = account.address
                geo = (account.location.lat, account.location.lon)
                if account.category:
                    categories.append(account.category)
                categories.append(f"Class {account.value_class}")
            lines.append(
                f"Travel from {previous}: {_minutes(stop.travel_s)}, "
                f"{stop.distance_m / 1000:.1f} km"
            )
            if stop.wait_s:
                lines.append(f"Wait before the visit: {_minutes(stop.wait_s)}")
            lines.append(f"Route: {url}")
            events.append(
                VisitEvent(
                    rep_id=route.rep_id,
                    account_id=stop.account_id,
                    day=route.day,
                    start=start,
                    end=end,
                    summary=name,
                    location=location,
                    geo=geo,
                    description="\n".join(line.replace("\r", "") for line in lines),
                    categories=tuple(categories),
                    url=url,
                    travel_start=travel_start,
                )
            )
            previous = name
    return events


def reconcile_feed(
    previous: Sequence[FeedEntry],
    events: Sequence[VisitEvent],
    *,
    horizon_start: date,
    now: datetime,
    keep_cancelled: timedelta,
    make_uid: Callable[[], str],
    keep_past: timedelta = timedelta(days=90),
) -> list[FeedEntry]:
    """The feed entries after a new plan: same UID for the same visit, moved or not.

    Per (rep, account), old active entries and new events are paired greedily by smallest date
    distance (ties: earlier dates first), which keeps the n-th visit of an account the n-th
    event when a whole schedule shifts. Paired entries whose content changed get SEQUENCE + 1
    and ``modified_at = now``; unchanged ones are returned as they were (so an unchanged re-plan
    changes nothing a client sees). Unpaired old entries become CANCELLED with SEQUENCE + 1.
    Old entries before ``horizon_start`` are history: never paired (a past visit must not turn
    into a future one) and kept as they are until ``keep_past`` before ``horizon_start``.
    Cancelled entries are dropped once ``keep_cancelled`` has passed since their cancellation.
    The result is sorted by (day, rep, account, uid).
    """
    old_by_key: dict[tuple[str, str], list[FeedEntry]] = defaultdict(list)
    result: list[FeedEntry] = []
    for entry in previous:
        if entry.status is FeedStatus.CANCELLED:
            assert entry.cancelled_at is not None
            if now - entry.cancelled_at < keep_cancelled:
                result.append(entry)
        elif entry.day < horizon_start:
            if entry.day >= horizon_start - keep_past:
                result.append(entry)
        else:
            old_by_key[(entry.rep_id, entry.account_id)].append(entry)
    new_by_key: dict[tuple[str, str], list[VisitEvent]] = defaultdict(list)
    for event in events:
        new_by_key[(event.rep_id, event.account_id)].append(event)

    for key in sorted(set(old_by_key) | set(new_by_key)):
        olds = sorted(old_by_key.get(key, []), key=lambda e: (e.day, e.uid))
        news = sorted(new_by_key.get(key, []), key=lambda e: (e.day, e.start))
        pairs = sorted(
            (abs((o.day - n.day).days), o.day, n.day, i, j)
            for i, o in enumerate(olds)
            for j, n in enumerate(news)
        )
        old_used: dict[int, int] = {}
        new_used: set[int] = set()
        for _distance, _od, _nd, i, j in pairs:
            if i not in old_used and j not in new_used:
                old_used[i] = j
                new_used.add(j)
        for i, old in enumerate(olds):
            if i in old_used:
                result.append(_updated(old, news[old_used[i]], now))
            else:
                result.append(
                    replace(
                        old,
                        status=FeedStatus.CANCELLED,
                        sequence=old.sequence + 1,
                        modified_at=now,
                        cancelled_at=now,
                    )
                )
        for j, event in enumerate(news):
            if j not in new_used:
                content = event.content()
                result.append(
                    FeedEntry(
                        rep_id=event.rep_id,
                        account_id=event.account_id,
                        uid=make_uid(),
                        day=event.day,
                        sequence=0,
                        status=FeedStatus.CONFIRMED,
                        content_hash=content_hash(content),
                        modified_at=now,
                        content=content,
                    )
                )
    result.sort(key=lambda e: (e.day, e.rep_id, e.account_id, e.uid))
    return result


def _updated(old: FeedEntry, event: VisitEvent, now: datetime) -> FeedEntry:
    content = event.content()
    digest = content_hash(content)
    if digest == old.content_hash and old.day == event.day:
        return old
    return replace(
        old,
        day=event.day,
        sequence=old.sequence + 1,
        content_hash=digest,
        content=content,
        modified_at=now,
    )


def clean_text(text: str, *, multiline: bool = False) -> str:
    """``text`` without control characters, as every feed property must be: a raw CR would
    end the content line and let the rest be read as a property of its own. Line breaks
    become ``\n`` (escaped on output) where a property may have several lines, else a space."""
    text = _LINE_BREAK.sub("\n" if multiline else " ", text)
    if multiline:
        return "\n".join(_CONTROL.sub("", line) for line in text.split("\n"))
    return _CONTROL.sub("", text.replace("\t", " "))


def _escape_categories(categories: Iterable[str]) -> str:
    # ``ics`` writes CATEGORIES unescaped; a comma inside one category would split it in two.
    return ",".join(
        c.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
        for c in categories
    )


def render_feed(
    entries: Iterable[FeedEntry],
    *,
    name: str,
    timezone: str,
    refresh_s: Seconds = 3600,
    travel_blocks: bool = False,
    first_day: date | None = None,
    last_day: date | None = None,
    base_url: str = "",
) -> str:
    """The VCALENDAR text of ``entries`` (CRLF line ends, folded at 75 octets).

    ``first_day``/``last_day`` restrict to a date range (the one-off export); ``travel_blocks``
    adds a "Travel to ..." event before each visit that has travel, with UID ``travel-<uid>``
    and the visit's SEQUENCE and STATUS, so it moves and cancels with its visit. ``base_url``
    makes the stored relative links to the web app absolute.
    """
    base = base_url.rstrip("/")
    calendar = Calendar(creator=PRODID)
    ttl = _duration(refresh_s)
    calendar.extra.extend(
        [
            ContentLine("CALSCALE", value="GREGORIAN"),
            ContentLine("METHOD", value="PUBLISH"),
            ContentLine("X-WR-CALNAME", value=_escape_text(clean_text(name))),
            ContentLine("X-WR-TIMEZONE", value=clean_text(timezone)),
            ContentLine("REFRESH-INTERVAL", params={"VALUE": ["DURATION"]}, value=ttl),
            ContentLine("X-PUBLISHED-TTL", value=ttl),
        ]
    )
    blocks: list[tuple[datetime, str, str]] = []
    for entry in entries:
        if first_day is not None and entry.day < first_day:
            continue
        if last_day is not None and entry.day > last_day:
            continue
        c = entry.content
        start = _parse_iso(c["start"])
        categories = [clean_text(x) for x in c.get("categories", "").split("\n") if x]
        summary = clean_text(c["summary"])
        event = _event(entry, start, _parse_iso(c["end"]), summary)
        event.location = clean_text(c.get("location", "")) or None
        if c.get("lat") and c.get("lon"):
            event.geo = (float(c["lat"]), float(c["lon"]))
        url = clean_text(c.get("url", ""))
        description = clean_text(c.get("description", ""), multiline=True)
        if url.startswith("/"):
            description = description.replace(f"Route: {url}", f"Route: {base}{url}")
            url = f"{base}{url}"
        event.description = description or None
        event.url = url or None
        if categories:
            event.extra.append(ContentLine("CATEGORIES", value=_escape_categories(categories)))
        blocks.append((start, entry.uid, _serialise(event)))
        if travel_blocks and c.get("travel_start"):
            travel_start = _parse_iso(c["travel_start"])
            travel = _event(
                entry,
                travel_start,
                _parse_iso(c["start"]) if travel_start < start else start,
                f"Travel to {summary}",
                uid=f"travel-{entry.uid}",
            )
            travel.transparent = False
            travel.extra.append(ContentLine("CATEGORIES", value="Travel"))
            blocks.append((travel_start, travel.uid, _serialise(travel)))
    blocks.sort(key=lambda b: (b[0], b[1]))
    head = _serialise(calendar).rsplit("\r\nEND:VCALENDAR", 1)[0]
    body = "\r\n".join([head, *(b[2] for b in blocks), "END:VCALENDAR"])
    return fold_lines(body) + "\r\n"


def _event(
    entry: FeedEntry,
    start: datetime,
    end: datetime,
    summary: str,
    *,
    uid: str | None = None,
) -> Any:
    event = Event(
        name=summary,
        begin=start,
        end=end,
        uid=uid or entry.uid,
        created=entry.modified_at,  # ics writes ``created`` as DTSTAMP
        last_modified=entry.modified_at,
        status=entry.status.value,
    )
    event.extra.append(ContentLine("SEQUENCE", value=str(entry.sequence)))
    return event


def _serialise(component: Any) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ics warns about its own future API, not ours
        text: str = component.serialize()
    return text


def _escape_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _duration(seconds: Seconds) -> str:
    hours, minutes = divmod(max(1, seconds // 60), 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")


def fold_lines(text: str) -> str:
    """Fold every content line to at most 75 octets (RFC 5545 3.1), never inside a character.

    Continuation lines start with one space, which counts towards their 75 octets.
    """
    out: list[str] = []
    for line in text.split("\r\n"):
        raw = line.encode("utf-8")
        if len(raw) <= MAX_LINE_OCTETS:
            out.append(line)
            continue
        parts: list[bytes] = []
        start, limit = 0, MAX_LINE_OCTETS
        while len(raw) - start > limit:
            cut = start + limit
            while raw[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: move back to its start
                cut -= 1
            parts.append(raw[start:cut])
            start, limit = cut, MAX_LINE_OCTETS - 1
        parts.append(raw[start:])
        out.append(b"\r\n ".join(parts).decode("utf-8"))
    return "\r\n".join(out)
