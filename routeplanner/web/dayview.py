"""What the rep's day page shows: stops with ETAs, windows, navigation links and the map."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import tzinfo

from routeplanner.errors import NotFoundError, RoadNetworkError
from routeplanner.model import Account, DayRoute, GeoPoint, Rep
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.services.repair import (
    ChangeKind,
    ChangeSet,
    VisitReason,
    latest_repair,
    repair_changes,
)
from routeplanner.storage import Store
from routeplanner.units import format_hhmm
from routeplanner.web.jobs import RepairJob
from routeplanner.web.maps import MapMarker, route_svg
from routeplanner.web.navigation import HandOff, day_handoff, directions
from routeplanner.web.services import Services


@dataclass(frozen=True, slots=True)
class StopView:
    number: int
    visit_id: str
    account: Account
    arrival: str
    start: str
    departure: str
    wait_min: int
    visit_min: int
    travel_min: int
    distance_km: float
    window: str
    geo_link: str
    osm_link: str
    google_link: str
    apple_link: str
    violations: tuple[str, ...]
    reason: VisitReason | None = None
    finished: bool = False


@dataclass(frozen=True, slots=True)
class DayView:
    route: DayRoute
    stops: list[StopView]
    leave: str
    back: str
    drive_min: int
    distance_km: float
    lunch: str
    map_svg: str
    handoff: list[HandOff]
    """The stops still to visit, then home, as Google Maps links with waypoints."""


def build_day_view(
    route: DayRoute,
    rep: Rep,
    accounts: Mapping[str, Account],
    services: Services,
    *,
    reasons: Mapping[str, VisitReason] | None = None,
    with_map: bool = True,
    finished: Collection[str] = (),
) -> DayView:
    """Stops with times and navigation links, and (``with_map``) the SVG map of the day;
    ``finished`` visit ids are drawn greyed."""
    reasons = reasons or {}
    weekday = route.day.weekday()
    stops: list[StopView] = []
    previous = rep.home
    markers = [MapMarker(rep.home, "H", f"{rep.name}: home", kind="home")]
    path = [rep.home]
    for i, stop in enumerate(route.stops, start=1):
        account = accounts.get(stop.account_id)
        if account is None:  # deleted since planning: show nothing rather than a wrong place
            continue
        windows = account.opening_hours.on(weekday)
        links = directions(previous, account.location, account.name)
        done = stop.visit_id in finished
        stops.append(
            StopView(
                number=i,
                visit_id=stop.visit_id,
                account=account,
                arrival=format_hhmm(stop.arrival_s),
                start=format_hhmm(stop.start_s),
                departure=format_hhmm(stop.departure_s),
                wait_min=stop.wait_s // 60,
                visit_min=(stop.departure_s - stop.start_s) // 60,
                travel_min=round(stop.travel_s / 60),
                distance_km=round(stop.distance_m / 1000, 1),
                window=", ".join(str(w) for w in windows) or "closed",
                geo_link=links.geo,
                osm_link=links.osm,
                google_link=links.google,
                apple_link=links.apple,
                violations=stop.violations,
                reason=reasons.get(stop.visit_id),
                finished=done,
            )
        )
        kind = "stop done" if done else "stop"
        markers.append(MapMarker(account.location, str(i), f"{i}. {account.name}", kind=kind))
        path.append(account.location)
        previous = account.location
    path.append(rep.home)
    map_svg = _map_svg(markers, path, services) if with_map else ""
    lunch = ""
    if route.break_start_s is not None:
        lunch = (
            f"{format_hhmm(route.break_start_s)}–"
            f"{format_hhmm(route.break_start_s + route.break_duration_s)}"
        )
    return DayView(
        route=route,
        stops=stops,
        leave=format_hhmm(route.start_s),
        back=format_hhmm(route.end_s),
        drive_min=round(route.travel_s / 60),
        distance_km=round(route.distance_m / 1000, 1),
        lunch=lunch,
        map_svg=map_svg,
        handoff=day_handoff(
            [(s.number, s.account.location) for s in stops if not s.finished], rep.home
        ),
    )


def _map_svg(markers: list[MapMarker], path: list[GeoPoint], services: Services) -> str:
    """Drawn once per distinct map: the key holds every marker (place, label, title) and the
    driven path, so an edited account name or a moved stop draws a new one."""

    def draw() -> str:
        legs: list[list[GeoPoint]] = []
        try:
            travel = services.travel()
            legs = [travel.leg_geometry(a, b) for a, b in itertools.pairwise(path)]
        except RoadNetworkError:
            legs = [[a, b] for a, b in itertools.pairwise(path)]
        graph = services.road_graph()
        return route_svg(markers, legs, graph, tile_url=services.settings.tile_url)

    return services.map_svg((tuple(markers), tuple(path)), draw)


def status_label(record: VisitRecord, tz: tzinfo) -> str:
    """``done at 10:15`` / ``missed`` / ``cancelled`` / ``checked in at 09:02``."""
    label = record.status.value.replace("_", " ")
    if record.actual_start is not None and record.status in (
        VisitStatus.DONE,
        VisitStatus.CHECKED_IN,
    ):
        label += f" at {record.actual_start.astimezone(tz).strftime('%H:%M')}"
    return label


@dataclass(frozen=True, slots=True)
class ReplanView:
    """The "what changed" box after a missed or cancelled visit."""

    state: str
    plan_id: int | None
    lines: list[str]
    error: str
    job_id: int | None = None
    seconds_left: int = 0
    """While a repair waits (``state`` "waiting"): seconds left to undo the report."""
    standing: bool = False
    """The rep's last repair, shown folded on every visit of the day page."""


def _change_lines(changes: ChangeSet | None, accounts: dict[str, Account]) -> list[str]:
    """One line per changed visit with its reason: ``moved: Bäckerei Müller Tue 24.11. →
    Thu 26.11. — make room for a follow-up``."""

    def name(account_id: str) -> str:
        account = accounts.get(account_id)
        return account.name if account is not None else account_id

    if changes is None:
        return []
    lines = []
    for c in changes.changes:
        old = f"{c.old_day:%a %d.%m.}" if c.old_day is not None else ""
        new = f"{c.new_day:%a %d.%m.}" if c.new_day is not None else ""
        if c.kind is ChangeKind.MOVED:
            when = f"{old} → {new}"
        elif c.kind is ChangeKind.DROPPED:
            when = old
        else:
            when = new
        lines.append(
            f"{c.kind.value}: {name(c.account_id)} {when}" + (f" — {c.why}" if c.why else "")
        )
    return lines


def replan_view(job: RepairJob, rep_id: str, accounts: dict[str, Account]) -> ReplanView:
    """The box for a background re-plan job: waiting (undo possible), running, failed,
    undone, or its summary for this rep."""
    if job.summary is None:
        left = max(0, math.ceil(job.starts_at - time.time())) if job.state == "waiting" else 0
        return ReplanView(job.state, None, [], job.error, job.job_id, left)
    lines = _change_lines(job.summary.changes.get(rep_id), accounts)
    return ReplanView(job.state, job.summary.plan_id, lines, job.error, job.job_id)


def changed_view(
    store: Store, plan_id: int, rep: Rep, accounts: dict[str, Account]
) -> ReplanView | None:
    """What a stored repair version changed for ``rep`` (works after a restart, when the
    in-memory job is gone); ``None`` for any other version, or one that is gone."""
    try:
        changes = repair_changes(store, plan_id, rep)
    except (NotFoundError, ValueError):
        return None
    if changes is None:
        return None
    return ReplanView("done", plan_id, _change_lines(changes, accounts), "")


def last_repair_view(store: Store, rep: Rep, accounts: dict[str, Account]) -> ReplanView | None:
    """The change list of the repair that last rewrote ``rep``'s territory plan, if any."""
    found = latest_repair(store, rep.rep_id)
    if found is None:
        return None
    plan_id, changes = found
    return ReplanView("done", plan_id, _change_lines(changes, accounts), "", standing=True)
