"""Plan versions made of territory plans.

A run registers a *running* version that readers ignore; completing it writes its routes and
makes it current in one transaction, so readers see either the old plan or the whole new one.
Older versions stay readable by id.

A version is a list of territory plans, one per rep (the rep's routes and the visits left out
of the rep's territory; rep "" holds visits of accounts in no rep's territory). A whole run
writes every territory plan; a rep's repair writes that rep's territory plan only and shares
the others with the version before, whose rows it never touches. Reading a version composes
its territory plans into one :class:`~routeplanner.model.Plan`, so readers see one plan as
before. A repair names the territory plan it started from (its *base*); when another write
replaced that territory plan meanwhile, completing it raises
:class:`~routeplanner.errors.StaleStateError` instead of overwriting newer work.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Any, Final

from sqlalchemy import and_, select, text
from sqlalchemy.orm import Session, selectinload

from routeplanner.errors import StaleStateError, StorageError
from routeplanner.model import (
    DayRoute,
    Horizon,
    Plan,
    Stop,
    Unassigned,
    UnassignedReason,
)
from routeplanner.storage.common import AreaRepository, existing_row
from routeplanner.storage.records import PlanInfo, PlannedStop, PlanStatus, TerritoryVersion
from routeplanner.storage.tables import (
    ID_LENGTH,
    PlanPartRow,
    PlanRouteRow,
    PlanRow,
    PlanStopRow,
    PlanUnassignedRow,
    TerritoryAccountRow,
    TerritoryRow,
)

_PLAN_SWITCH_LOCK: Final = 7_268_100_042
"""Key of the PostgreSQL advisory lock held while a plan becomes current."""

NO_TERRITORY: Final = ""
"""Key of the territory plan holding visits of accounts in no rep's territory."""


class PlanRepository(AreaRepository):
    """Plan versions and their progress (``tx.plans``)."""

    def start(
        self, horizon: Horizon, meta: Mapping[str, str] | None = None, *, user: str = ""
    ) -> int:
        """Register a running plan version (not current, invisible to readers); returns its id."""
        with self._session("starting a plan", write=True) as session:
            row = PlanRow(
                created_at=self._now(),
                finished_at=None,
                horizon_start=horizon.start,
                horizon_weeks=horizon.weeks,
                horizon_tz=horizon.timezone,
                status=PlanStatus.RUNNING.value,
                is_current=None,
                progress=0.0,
                message="",
                error="",
                meta=dict(meta or {}),
                created_by=user,
            )
            session.add(row)
            session.flush()
            return row.id

    def update_progress(self, plan_id: int, fraction: float, message: str = "") -> None:
        """Record how far a running plan is (0..1) and what it is doing, for progress bars."""
        if not 0.0 <= fraction <= 1.0:
            msg = f"plan progress must be within 0..1, got {fraction}"
            raise ValueError(msg)
        what = self._what(f"updating progress of plan {plan_id}")
        with self._session(what, write=True) as session:
            row = _running_plan(session, what, plan_id)
            row.progress = fraction
            row.message = message

    def complete(
        self,
        plan_id: int,
        plan: Plan,
        *,
        rep_id: str | None = None,
        bases: Mapping[str, int | None] | None = None,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        """Store the plan's routes and unassigned visits and make the version current.

        Without ``rep_id`` the plan replaces every territory plan: routes go to their rep's
        territory plan, unassigned visits to that of the rep whose stored territory holds the
        account. With ``rep_id`` the plan is that rep's territory plan only (every route must
        be the rep's) and the version shares every other territory plan with the current
        version. ``bases`` maps reps to the version whose territory plan of theirs the plan was
        computed from (``None``: none); ``changes`` maps reps to what changed for them (plain
        JSON data, kept with their new territory plan).

        Readers see the previous current plan until the transaction commits, then the new
        one. ``plan.meta`` is added to the start meta; ``plan.created_at`` replaces its time.

        Raises
        ------
        StaleStateError
            A territory plan named in ``bases`` was replaced by another version meanwhile.
        StorageError
            No such running version, an id too long, a route of another rep than ``rep_id``,
            or a territory plan of ``rep_id`` to replace but no current version.
        """
        what = self._what(f"storing plan {plan_id}")
        _check_plan_ids(what, plan, rep_id)
        with self._session(what, write=True) as session:
            _serialise_plan_switches(session)
            row = _running_plan(session, what, plan_id, lock=True)
            previous = session.scalars(
                select(PlanRow).where(PlanRow.is_current.is_(True)).with_for_update()
            ).first()
            shared = [] if previous is None else _parts_of(session, previous.id)
            _check_bases(what, shared, bases or {})
            if rep_id is not None and previous is None:
                msg = f"{what}: no current plan whose territory plan of {rep_id!r} to replace"
                raise StorageError(msg)
            owners = _owners(session, plan) if rep_id is None else {}
            parts = (
                _whole_parts(plan_id, plan, owners)
                if rep_id is None
                else _replaced_part(plan_id, shared, rep_id)
            )
            for part in parts:
                if part.source_plan_id == plan_id:
                    part.changes = (changes or {}).get(part.rep_id)
            row.rep_id = rep_id
            row.routes = [_route_row(plan_id, i, route) for i, route in enumerate(plan.routes)]
            row.unassigned = [
                _unassigned_row(i, u, rep_id if rep_id is not None else owners.get(u.account_id))
                for i, u in enumerate(plan.unassigned)
            ]
            session.add_all(parts)
            if previous is not None:
                previous.is_current = None
            # Clear the old flag before setting the new one: the unique constraint on
            # is_current is checked per statement and the flush orders updates by id.
            session.flush()
            self._finish(row, plan)

    def _finish(self, row: PlanRow, plan: Plan) -> None:
        row.status = PlanStatus.COMPLETE.value
        row.is_current = True
        row.finished_at = self._now()
        row.progress = 1.0
        row.message = ""
        row.meta = {**row.meta, **plan.meta}
        if plan.created_at is not None:
            row.created_at = plan.created_at

    def fail(self, plan_id: int, error: str) -> None:
        """Mark a running plan failed; the current plan stays current."""
        what = self._what(f"marking plan {plan_id} failed")
        with self._session(what, write=True) as session:
            row = _running_plan(session, what, plan_id, lock=True)
            row.status = PlanStatus.FAILED.value
            row.error = error
            row.finished_at = self._now()

    def fail_running(self, error: str, *, plan_ids: Collection[int] | None = None) -> int:
        """Mark running plans failed (all, or those of ``plan_ids``), e.g. at start-up after a
        crash; returns how many. Plans that finished meanwhile are left alone."""
        query = select(PlanRow).where(PlanRow.status == PlanStatus.RUNNING.value)
        if plan_ids is not None:
            query = query.where(PlanRow.id.in_(sorted(set(plan_ids))))
        with self._session("failing interrupted plans", write=True) as session:
            rows = session.scalars(query.with_for_update()).all()
            for row in rows:
                row.status = PlanStatus.FAILED.value
                row.error = error
                row.finished_at = self._now()
            return len(rows)

    def current(self) -> tuple[int, Plan] | None:
        """The current plan version with its id, or ``None`` before the first complete plan."""
        with self._session("reading the current plan") as session:
            row = session.scalars(select(PlanRow).where(PlanRow.is_current.is_(True))).first()
            return None if row is None else (row.id, _composed(session, row))

    def current_route_times(self, start: date, end: date) -> list[tuple[str, int, int]]:
        """(rep, working seconds, driving seconds) of every route of the current plan from
        ``start`` to ``end`` (inclusive) with at least one stop, without loading the stops."""
        with self._session("reading the current plan's route times") as session:
            plan_id = session.scalar(select(PlanRow.id).where(PlanRow.is_current.is_(True)))
            if plan_id is None:
                return []
            route = PlanRouteRow
            has_stop = select(PlanStopRow.id).where(PlanStopRow.route_id == route.id).exists()
            query = (
                select(route.rep_id, route.end_s - route.start_s, route.travel_s)
                .join(
                    PlanPartRow,
                    and_(
                        PlanPartRow.source_plan_id == route.plan_id,
                        PlanPartRow.rep_id == route.rep_id,
                    ),
                )
                .where(PlanPartRow.plan_id == plan_id, route.day >= start, route.day <= end)
                .where(has_stop)
            )
            return [(r, int(w), int(t)) for r, w, t in session.execute(query).tuples()]

    def current_info(self) -> PlanInfo | None:
        """The current plan version's status and horizon without its routes (one row)."""
        with self._session("reading the current plan version") as session:
            row = session.scalars(select(PlanRow).where(PlanRow.is_current.is_(True))).first()
            return None if row is None else _plan_info(row)

    def stop(self, plan_id: int, visit_id: str) -> PlannedStop | None:
        """Where plan version ``plan_id`` has ``visit_id`` (in whichever version wrote that
        territory plan), without loading the plan (a visit report needs only this); ``None``
        when the version has no such visit."""
        query = (
            select(PlanStopRow.rep_id, PlanStopRow.day, PlanStopRow.account_id)
            .join(
                PlanPartRow,
                and_(
                    PlanPartRow.source_plan_id == PlanStopRow.plan_id,
                    PlanPartRow.rep_id == PlanStopRow.rep_id,
                ),
            )
            .where(PlanPartRow.plan_id == plan_id, PlanStopRow.visit_id == visit_id)
        )
        with self._session(f"finding visit {visit_id} in plan {plan_id}") as session:
            found = session.execute(query).first()
            return None if found is None else PlannedStop(visit_id, *found.tuple())

    def current_id(self) -> int | None:
        """Id of the current plan version without loading it (cheap: cache keys, polling)."""
        with self._session("reading the current plan id") as session:
            return session.scalars(select(PlanRow.id).where(PlanRow.is_current.is_(True))).first()

    def get(self, plan_id: int) -> Plan:
        """A complete plan version by id (current or not), its territory plans composed.

        Raises
        ------
        StorageError
            No such plan, or it is still running or failed (and so has no routes).
        """
        what = self._what(f"reading plan {plan_id}")
        with self._session(what) as session:
            return _composed(session, _complete_plan(session, what, plan_id))

    def territories(self, plan_id: int | None = None) -> list[TerritoryVersion]:
        """The territory plans of a complete version (default: the current one, none before
        the first plan) with the version that wrote each, in the version's order."""
        what = self._what(f"reading the territory plans of plan {plan_id or 'current'}")
        with self._session(what) as session:
            if plan_id is None:
                plan_id = session.scalars(
                    select(PlanRow.id).where(PlanRow.is_current.is_(True))
                ).first()
                if plan_id is None:
                    return []
            else:
                _complete_plan(session, what, plan_id)
            return [_territory_version(p) for p in _parts_of(session, plan_id)]

    def territory_history(self, rep_id: str) -> list[TerritoryVersion]:
        """Every complete version that wrote a territory plan of ``rep_id``, newest first,
        with what each changed when a repair wrote it."""
        query = (
            select(PlanPartRow)
            .where(PlanPartRow.rep_id == rep_id, PlanPartRow.plan_id == PlanPartRow.source_plan_id)
            .order_by(PlanPartRow.plan_id.desc())
        )
        with self._session(self._what(f"reading the plan versions of rep {rep_id}")) as session:
            return [_territory_version(p) for p in session.scalars(query)]

    def territory_plan(self, plan_id: int, rep_id: str) -> Plan:
        """The territory plan of ``rep_id`` in a complete version (written by it or shared from
        an earlier one): the rep's routes and the visits left out of the rep's territory."""
        what = self._what(f"reading the territory plan of rep {rep_id} in plan {plan_id}")
        with self._session(what) as session:
            return _composed(session, _complete_plan(session, what, plan_id), rep_id=rep_id)

    def info(self, plan_id: int) -> PlanInfo:
        """A plan version's status, horizon and progress (no routes)."""
        what = self._what(f"reading plan {plan_id}")
        with self._session(what) as session:
            return _plan_info(existing_row(session, PlanRow, plan_id, what, "plan"))

    def all(self) -> list[PlanInfo]:
        """All plan versions, newest first."""
        with self._session("listing plans") as session:
            return [
                _plan_info(row)
                for row in session.scalars(select(PlanRow).order_by(PlanRow.id.desc()))
            ]

    def delete(self, plan_id: int) -> None:
        """Delete an old plan version; the current one cannot be deleted, nor one whose
        territory plans later versions share."""
        what = self._what(f"deleting plan {plan_id}")
        with self._session(what, write=True) as session:
            row = existing_row(session, PlanRow, plan_id, what, "plan")
            if row.is_current:
                msg = f"{what}: it is the current plan"
                raise StorageError(msg)
            sharing = session.scalars(
                select(PlanPartRow.plan_id)
                .where(
                    PlanPartRow.source_plan_id == plan_id,
                    PlanPartRow.plan_id != plan_id,
                )
                .order_by(PlanPartRow.plan_id)
            ).first()
            if sharing is not None:
                msg = f"{what}: plan {sharing} shares its territory plans"
                raise StorageError(msg)
            session.delete(row)


def _serialise_plan_switches(session: Session) -> None:
    """Let only one transaction at a time move the current-plan flag.

    On PostgreSQL two concurrent completions would both find the same old current plan, and
    the second would then hit the unique constraint; a transaction-scoped advisory lock makes
    the second wait and then see the first one's result. SQLite needs nothing: write
    transactions begin IMMEDIATE, so writers are serialised already.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PLAN_SWITCH_LOCK})


def _running_plan(session: Session, what: str, plan_id: int, *, lock: bool = False) -> PlanRow:
    row = existing_row(session, PlanRow, plan_id, what, "plan", lock=lock)
    if row.status != PlanStatus.RUNNING.value:
        msg = f"{what}: the plan is {row.status}, not running"
        raise StorageError(msg)
    return row


def _complete_plan(session: Session, what: str, plan_id: int) -> PlanRow:
    row = session.get(PlanRow, plan_id)
    if row is None:
        msg = f"{what}: no such plan"
        raise StorageError(msg)
    if row.status != PlanStatus.COMPLETE.value:
        msg = f"{what}: the plan is {row.status}, not complete"
        raise StorageError(msg)
    return row


def _check_plan_ids(what: str, plan: Plan, rep_id: str | None) -> None:
    long_ids = [
        value
        for route in plan.routes
        for value in (route.rep_id, *(x for s in route.stops for x in (s.visit_id, s.account_id)))
        if len(value) > ID_LENGTH
    ]
    long_ids += [
        value
        for u in plan.unassigned
        for value in (u.visit_id, u.account_id)
        if len(value) > ID_LENGTH
    ]
    if rep_id is not None and len(rep_id) > ID_LENGTH:
        long_ids.append(rep_id)
    if long_ids:
        msg = f"{what}: id {long_ids[0][:40]!r}... is longer than {ID_LENGTH} characters"
        raise StorageError(msg)
    others = sorted({r.rep_id for r in plan.routes} - {rep_id}) if rep_id is not None else []
    if others:
        msg = f"{what}: the territory plan of rep {rep_id!r} has routes of rep {others[0]!r}"
        raise StorageError(msg)


def _parts_of(session: Session, plan_id: int) -> list[PlanPartRow]:
    query = (
        select(PlanPartRow)
        .where(PlanPartRow.plan_id == plan_id)
        .order_by(PlanPartRow.position, PlanPartRow.id)
    )
    return list(session.scalars(query))


def _check_bases(what: str, current: list[PlanPartRow], bases: Mapping[str, int | None]) -> None:
    """Refuse a plan computed from territory plans that other versions have replaced since."""
    written_by = {p.rep_id: p.source_plan_id for p in current}
    for rep_id, base in sorted(bases.items()):
        now = written_by.get(rep_id)
        if now != base:
            newer = "no plan" if now is None else f"plan {now}"
            msg = (
                f"{what}: it was computed from the territory plan of rep {rep_id!r} in "
                f"{'no plan' if base is None else f'plan {base}'}, which {newer} has replaced "
                "since; compute it again"
            )
            raise StaleStateError(msg)


def _owners(session: Session, plan: Plan) -> dict[str, str]:
    """The rep of the stored territory holding each unassigned account of ``plan``."""
    ids = sorted({u.account_id for u in plan.unassigned})
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):  # bounded IN lists
        query = (
            select(TerritoryAccountRow.account_id, TerritoryRow.rep_id)
            .join(TerritoryRow, TerritoryRow.territory_id == TerritoryAccountRow.territory_id)
            .where(TerritoryAccountRow.account_id.in_(ids[start : start + 500]))
        )
        found.update({a: r for a, r in session.execute(query).tuples() if r is not None})
    return found


def _whole_parts(plan_id: int, plan: Plan, owners: Mapping[str, str]) -> list[PlanPartRow]:
    """One territory plan per rep of ``plan``, in order of first appearance, "" last."""
    reps = list(dict.fromkeys([r.rep_id for r in plan.routes]))
    reps += [r for r in dict.fromkeys(owners.get(u.account_id, "") for u in plan.unassigned)]
    ordered = sorted(dict.fromkeys(reps), key=lambda r: r == NO_TERRITORY)
    return [
        PlanPartRow(plan_id=plan_id, rep_id=rep_id, position=i, source_plan_id=plan_id)
        for i, rep_id in enumerate(ordered)
    ]


def _replaced_part(plan_id: int, current: list[PlanPartRow], rep_id: str) -> list[PlanPartRow]:
    """The current version's territory plans with that of ``rep_id`` written by ``plan_id``."""
    parts = [
        PlanPartRow(
            plan_id=plan_id,
            rep_id=p.rep_id,
            position=p.position,
            source_plan_id=plan_id if p.rep_id == rep_id else p.source_plan_id,
        )
        for p in current
    ]
    if all(p.rep_id != rep_id for p in current):
        last = max((p.position for p in current), default=-1)
        parts.append(
            PlanPartRow(plan_id=plan_id, rep_id=rep_id, position=last + 1, source_plan_id=plan_id)
        )
    return parts


def _territory_version(part: PlanPartRow) -> TerritoryVersion:
    return TerritoryVersion(part.rep_id, part.source_plan_id, part.changes)


def _unassigned_row(position: int, u: Unassigned, rep_id: str | None) -> PlanUnassignedRow:
    return PlanUnassignedRow(
        position=position,
        visit_id=u.visit_id,
        account_id=u.account_id,
        reason=u.reason.value,
        detail=u.detail,
        day=u.day,
        rep_id=rep_id or NO_TERRITORY,
    )


def _route_row(plan_id: int, position: int, route: DayRoute) -> PlanRouteRow:
    return PlanRouteRow(
        position=position,
        rep_id=route.rep_id,
        day=route.day,
        start_s=route.start_s,
        end_s=route.end_s,
        travel_s=route.travel_s,
        distance_m=route.distance_m,
        break_start_s=route.break_start_s,
        break_duration_s=route.break_duration_s,
        stops=[
            PlanStopRow(
                plan_id=plan_id,
                position=i,
                day=route.day,
                rep_id=route.rep_id,
                visit_id=stop.visit_id,
                account_id=stop.account_id,
                arrival_s=stop.arrival_s,
                start_s=stop.start_s,
                departure_s=stop.departure_s,
                travel_s=stop.travel_s,
                distance_m=stop.distance_m,
                wait_s=stop.wait_s,
                violations=list(stop.violations),
            )
            for i, stop in enumerate(route.stops)
        ],
    )


def _composed(session: Session, row: PlanRow, *, rep_id: str | None = None) -> Plan:
    """The version's territory plans (or only that of ``rep_id``) as one plan, in the
    version's order of territory plans, each in the order it was written."""
    shared = and_(PlanPartRow.plan_id == row.id, *_of_rep(rep_id))
    routes = session.scalars(
        select(PlanRouteRow)
        .join(
            PlanPartRow,
            and_(
                PlanPartRow.source_plan_id == PlanRouteRow.plan_id,
                PlanPartRow.rep_id == PlanRouteRow.rep_id,
            ),
        )
        .where(shared)
        .order_by(PlanPartRow.position, PlanRouteRow.position)
        .options(selectinload(PlanRouteRow.stops))
    ).all()
    unassigned = session.scalars(
        select(PlanUnassignedRow)
        .join(
            PlanPartRow,
            and_(
                PlanPartRow.source_plan_id == PlanUnassignedRow.plan_id,
                PlanPartRow.rep_id == PlanUnassignedRow.rep_id,
            ),
        )
        .where(shared)
        .order_by(PlanPartRow.position, PlanUnassignedRow.position)
    ).all()
    return Plan(
        routes=tuple(_day_route(r) for r in routes),
        unassigned=tuple(
            Unassigned(
                visit_id=u.visit_id,
                account_id=u.account_id,
                reason=UnassignedReason(u.reason),
                detail=u.detail,
                day=u.day,
            )
            for u in unassigned
        ),
        created_at=row.created_at,
        meta={str(k): str(v) for k, v in row.meta.items()},
    )


def _of_rep(rep_id: str | None) -> list[Any]:
    return [] if rep_id is None else [PlanPartRow.rep_id == rep_id]


def _day_route(r: PlanRouteRow) -> DayRoute:
    return DayRoute(
        rep_id=r.rep_id,
        day=r.day,
        start_s=r.start_s,
        end_s=r.end_s,
        stops=tuple(
            Stop(
                visit_id=s.visit_id,
                account_id=s.account_id,
                arrival_s=s.arrival_s,
                start_s=s.start_s,
                departure_s=s.departure_s,
                travel_s=s.travel_s,
                distance_m=s.distance_m,
                wait_s=s.wait_s,
                violations=tuple(str(v) for v in s.violations),
            )
            for s in r.stops
        ),
        travel_s=r.travel_s,
        distance_m=r.distance_m,
        break_start_s=r.break_start_s,
        break_duration_s=r.break_duration_s,
    )


def _plan_info(row: PlanRow) -> PlanInfo:
    return PlanInfo(
        plan_id=row.id,
        horizon=Horizon(start=row.horizon_start, weeks=row.horizon_weeks, timezone=row.horizon_tz),
        status=PlanStatus(row.status),
        is_current=bool(row.is_current),
        created_at=row.created_at,
        finished_at=row.finished_at,
        progress=row.progress,
        message=row.message,
        error=row.error,
        meta={str(k): str(v) for k, v in row.meta.items()},
        created_by=row.created_by,
        rep_id=row.rep_id,
    )
