"""Visit logging from the rep's phone: check in, done, missed, cancelled (small POST forms).

:func:`log_outcome` is shared with ``POST /api/v1/visits`` (:mod:`.api_visits`).

A missed or cancelled visit triggers a plan repair in the background (:mod:`..replan`); the
redirect back to the day page carries the job id so the page can say what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.storage.records import UserRecord
from routeplanner.units import parse_hhmm
from routeplanner.web.auth import CsrfDep, UserDep, allowed_rep
from routeplanner.web.deps import get_services
from routeplanner.web.replan import ReplanJob, ReplanJobs
from routeplanner.web.services import Services
from routeplanner.workflows import (
    RepairSummary,
    current_plan_or_error,
    find_stop,
    load_holidays,
    repair_current_plan,
)

router = APIRouter()
REPAIR_TIME_LIMIT_S = 3.0  # per territory: the rep waits for it on the phone
REPLANNING = (VisitStatus.MISSED, VisitStatus.CANCELLED)


def get_replan_jobs(request: Request) -> ReplanJobs:
    """One job registry per app, made on first use."""
    jobs: ReplanJobs | None = getattr(request.app.state, "replan_jobs", None)
    if jobs is None:
        jobs = ReplanJobs()
        request.app.state.replan_jobs = jobs
    return jobs


@dataclass(frozen=True, slots=True)
class LoggedVisit:
    """A stored outcome and, after a missed or cancelled visit, the repair job it started."""

    record: VisitRecord
    job: ReplanJob | None


def log_outcome(
    services: Services,
    jobs: ReplanJobs,
    user: UserRecord,
    *,
    visit_id: str,
    status: str,
    at: str = "",
    note: str = "",
    rep: str = "",
) -> LoggedVisit:
    """Record what happened at a planned stop; start the repair of the rest of the plan after
    a missed or cancelled one. The day page and ``POST /api/v1/visits`` both come here, so they
    accept, refuse and re-plan exactly alike.

    Raises
    ------
    HTTPException
        403 a rep naming or logging another rep's stop; 404 no such planned visit; 422 unknown
        status or a bad time. Nothing is stored then.
    InputError
        No current plan.
    """
    allowed_rep(user, rep or None)
    try:
        outcome = VisitStatus(status)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=f"unknown status {status!r}") from exc
    store = services.store
    _, plan, horizon = current_plan_or_error(store)
    where = find_stop(plan, visit_id)
    if where is None:
        raise HTTPException(status_code=404, detail=f"no planned visit {visit_id!r}")
    rep_id, stop_day = where
    allowed_rep(user, rep_id)
    actual = None
    if outcome in (VisitStatus.DONE, VisitStatus.CHECKED_IN):
        if at.strip():
            try:
                actual = horizon.to_datetime(stop_day, parse_hhmm(at.strip()))
            except ValueError as exc:
                raise HTTPException(status_code=422, detail=f"time {at!r}: {exc}") from exc
        else:
            now = datetime.now(tz=horizon.tz)
            actual = horizon.to_datetime(stop_day, now.hour * 3600 + now.minute * 60)
    account_id = next(s.account_id for r in plan.routes for s in r.stops if s.visit_id == visit_id)
    record = VisitRecord(
        account_id=account_id,
        rep_id=rep_id,
        day=stop_day,
        status=outcome,
        visit_id=visit_id,
        actual_start=actual,
        note=note.strip(),
        recorded_by=user.username,
    )
    store.visits.record(record)
    if outcome not in REPLANNING:
        return LoggedVisit(record, None)
    settings = services.settings

    def work(_job: object) -> RepairSummary:
        return repair_current_plan(
            store,
            services.travel(),
            today=stop_day,
            frozen_days=1,
            holidays=load_holidays(settings.holidays_path),
            time_limit_s=min(REPAIR_TIME_LIMIT_S, settings.plan_time_limit_s),
            user=user.username,
        )

    return LoggedVisit(record, jobs.start(rep_id, work))


@router.post("/route/visit", include_in_schema=False, dependencies=[CsrfDep])
def log_visit(
    user: UserDep,
    services: Annotated[Services, Depends(get_services)],
    jobs: Annotated[ReplanJobs, Depends(get_replan_jobs)],
    visit_id: Annotated[str, Form()],
    status: Annotated[str, Form()],
    at: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    rep: Annotated[str, Form()] = "",
    day: Annotated[str, Form()] = "",
) -> Response:
    """Record what happened at a planned stop; re-plan the rest after a missed or cancelled one."""
    logged = log_outcome(
        services, jobs, user, visit_id=visit_id, status=status, at=at, note=note, rep=rep
    )
    record = logged.record
    query = {"rep": record.rep_id, "day": _day(day, record.day).isoformat()}
    if logged.job is not None:
        query["job"] = str(logged.job.job_id)
    return RedirectResponse(f"/route?{urlencode(query)}", status_code=303)


def _day(text: str, fallback: date) -> date:
    try:
        return date.fromisoformat(text) if text else fallback
    except ValueError:
        return fallback
