"""What the rep's day page shows: stops with ETAs, windows, navigation links and the map."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from urllib.parse import quote

from routeplanner.errors import NotFoundError, RoadNetworkError
from routeplanner.model import Account, DayRoute, GeoPoint, Rep
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.services.repair import ChangeSet, VisitReason, repair_changes
from routeplanner.storage import Store
from routeplanner.units import format_hhmm
from routeplanner.web.jobs import RepairJob
from routeplanner.web.maps import MapMarker, route_svg
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
    violations: tuple[str, ...]
    reason: VisitReason | None = None


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


def _nav_links(origin: GeoPoint, dest: GeoPoint, label: str) -> tuple[str, str, str]:
    """``geo:`` opens the phone's map app; the web links work on any device."""
    geo = f"geo:{dest.lat:.6f},{dest.lon:.6f}?q={dest.lat:.6f},{dest.lon:.6f}({quote(label)})"
    osm = (
        "https://www.openstreetmap.org/directions?engine=fossgis_osrm_car&route="
        f"{origin.lat:.6f}%2C{origin.lon:.6f}%3B{dest.lat:.6f}%2C{dest.lon:.6f}"
    )
    google = (
        "https://www.google.com/maps/dir/?api=1&travelmode=driving"
        f"&origin={origin.lat:.6f},{origin.lon:.6f}&destination={dest.lat:.6f},{dest.lon:.6f}"
    )
    return geo, osm, google


def build_day_view(
    route: DayRoute,
    rep: Rep,
    accounts: Mapping[str, Account],
    services: Services,
    *,
    reasons: Mapping[str, VisitReason] | None = None,
    with_map: bool = True,
) -> DayView:
    """Stops with times and navigation links, and (``with_map``) the SVG map of the day."""
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
        geo, osm, google = _nav_links(previous, account.location, account.name)
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
                geo_link=geo,
                osm_link=osm,
                google_link=google,
                violations=stop.violations,
                reason=reasons.get(stop.visit_id),
            )
        )
        markers.append(MapMarker(account.location, str(i), f"{i}. {account.name}"))
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


def _change_lines(changes: ChangeSet | None, accounts: dict[str, Account]) -> list[str]:
    def name(account_id: str) -> str:
        account = accounts.get(account_id)
        return account.name if account is not None else account_id

    def visit(visit_id: str) -> str:
        account_id, _, when = visit_id.partition("@")
        return f"{name(account_id)} ({when})" if when else name(account_id)

    if changes is None:
        return []
    lines = [
        f"moved: {name(m.account_id)} {m.old_day:%a %d.%m.} → {m.new_day:%a %d.%m.}"
        for m in changes.moved
    ]
    lines += [f"added: {visit(v)}" for v in changes.added]
    lines += [f"dropped: {visit(v)}" for v in changes.dropped]
    return lines


def replan_view(job: RepairJob, rep_id: str, accounts: dict[str, Account]) -> ReplanView:
    """The box for a background re-plan job: running, failed, or its summary for this rep."""
    if job.summary is None:
        return ReplanView(job.state, None, [], job.error)
    lines = _change_lines(job.summary.changes.get(rep_id), accounts)
    return ReplanView(job.state, job.summary.plan_id, lines, job.error)


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
