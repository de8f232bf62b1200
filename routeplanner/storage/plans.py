"""Plan versions: a run registers a *running* version that readers ignore; completing it writes
its routes and makes it current in one transaction, so readers see either the old plan or the
whole new one. Older versions stay readable by id.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

from sqlalchemy import select, text
from sqlalchemy.orm import Session, selectinload

from routeplanner.errors import StorageError
from routeplanner.model import (
    DayRoute,
    Horizon,
    Plan,
    Stop,
    Unassigned,
    UnassignedReason,
)
from routeplanner.storage.common import AreaRepository, existing_row
from routeplanner.storage.records import PlanInfo, PlanStatus
from routeplanner.storage.tables import (
    ID_LENGTH,
    PlanRouteRow,
    PlanRow,
    PlanStopRow,
    PlanUnassignedRow,
)

_PLAN_SWITCH_LOCK: Final = 7_268_100_042
"""Key of the PostgreSQL advisory lock held while a plan becomes current."""

_PLAN_LOADING = (
    selectinload(PlanRow.routes).selectinload(PlanRouteRow.stops),
    selectinload(PlanRow.unassigned),
)
"""Load a plan's routes, stops and unassigned visits in three queries, not one per route."""


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

    def complete(self, plan_id: int, plan: Plan) -> None:
        """Store the plan's routes and unassigned visits and make it the current version.

        Until the transaction commits, readers see the previous current plan; afterwards the
        whole new one. The previous version stays stored and readable by its id. ``plan.meta``
        is added to the meta given at start; ``plan.created_at``, when set, replaces the start
        time.
        """
        what = self._what(f"storing plan {plan_id}")
        _check_plan_ids(what, plan)
        with self._session(what, write=True) as session:
            _serialise_plan_switches(session)
            row = _running_plan(session, what, plan_id, lock=True)
            row.routes = [_route_row(plan_id, i, route) for i, route in enumerate(plan.routes)]
            row.unassigned = [
                PlanUnassignedRow(
                    position=i,
                    visit_id=u.visit_id,
                    account_id=u.account_id,
                    reason=u.reason.value,
                    detail=u.detail,
                    day=u.day,
                )
                for i, u in enumerate(plan.unassigned)
            ]
            previous = session.scalars(
                select(PlanRow).where(PlanRow.is_current.is_(True)).with_for_update()
            ).all()
            for old in previous:
                old.is_current = None
            # Clear the old flag before setting the new one: the unique constraint on
            # is_current is checked per statement and the flush orders updates by id.
            session.flush()
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
            row = session.scalars(
                select(PlanRow).options(*_PLAN_LOADING).where(PlanRow.is_current.is_(True))
            ).first()
            return None if row is None else (row.id, _plan_from_row(row))

    def current_id(self) -> int | None:
        """Id of the current plan version without loading it (cheap: cache keys, polling)."""
        with self._session("reading the current plan id") as session:
            return session.scalars(select(PlanRow.id).where(PlanRow.is_current.is_(True))).first()

    def get(self, plan_id: int) -> Plan:
        """A complete plan version by id (current or not).

        Raises
        ------
        StorageError
            No such plan, or it is still running or failed (and so has no routes).
        """
        what = self._what(f"reading plan {plan_id}")
        with self._session(what) as session:
            row = session.scalars(
                select(PlanRow).options(*_PLAN_LOADING).where(PlanRow.id == plan_id)
            ).first()
            if row is None:
                msg = f"{what}: no such plan"
                raise StorageError(msg)
            if row.status != PlanStatus.COMPLETE.value:
                msg = f"{what}: the plan is {row.status}, not complete"
                raise StorageError(msg)
            return _plan_from_row(row)

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
        """Delete an old plan version; the current one cannot be deleted."""
        what = self._what(f"deleting plan {plan_id}")
        with self._session(what, write=True) as session:
            row = existing_row(session, PlanRow, plan_id, what, "plan")
            if row.is_current:
                msg = f"{what}: it is the current plan"
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


def _check_plan_ids(what: str, plan: Plan) -> None:
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
    if long_ids:
        msg = f"{what}: id {long_ids[0][:40]!r}... is longer than {ID_LENGTH} characters"
        raise StorageError(msg)


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


def _plan_from_row(row: PlanRow) -> Plan:
    return Plan(
        routes=tuple(
            DayRoute(
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
            for r in row.routes
        ),
        unassigned=tuple(
            Unassigned(
                visit_id=u.visit_id,
                account_id=u.account_id,
                reason=UnassignedReason(u.reason),
                detail=u.detail,
                day=u.day,
            )
            for u in row.unassigned
        ),
        created_at=row.created_at,
        meta={str(k): str(v) for k, v in row.meta.items()},
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
    )
