"""Visit logging from the rep's phone: check in, done, missed, cancelled (small POST forms).

:func:`log_outcome` is shared with ``POST /api/v1/visits`` (:mod:`.api_visits`): both record
with :func:`routeplanner.services.repair.record_visit`, and a missed or cancelled visit starts
the repair of the rest of the plan as a background job; the redirect back to the day page
carries the job id so the page can say what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response

from routeplanner.model.history import VisitRecord
from routeplanner.services import repair
from routeplanner.services.planning import PlanningSetup
from routeplanner.services.repair import RepairParams, RepairSummary, VisitParams
from routeplanner.storage.records import UserRecord
from routeplanner.web.auth import CsrfDep, UserDep
from routeplanner.web.jobs import Job, RepairJob
from routeplanner.web.state import AppState, get_state

router = APIRouter()
REPAIR_TIME_LIMIT_S = 3.0  # per territory: the rep waits for it on the phone


@dataclass(frozen=True, slots=True)
class LoggedVisit:
    """A stored outcome and, after a missed or cancelled visit, the repair job it started."""

    record: VisitRecord
    job: RepairJob | None


def log_outcome(
    state: AppState, user: UserRecord, fields: dict[str, str | None], *, source: str
) -> LoggedVisit:
    """Record what happened at a planned stop (``visit_id``, ``status``, ``at``, ``note``,
    ``rep`` as text); after a missed or cancelled one, repair the rest of its rep's
    territory plan (a report refused by the repair queue is not stored). An untimed done or
    checked-in visit started now: the rep reports on the spot."""
    settings = state.services.settings
    texts = {**fields, "now_if_untimed": "yes", "grace_days": str(settings.visit_grace_days)}
    params = VisitParams.from_text(texts, source=source)
    services = state.services
    record = repair.visit_record(services.store, params, user=user)
    if not repair.needs_repair(record):
        repair.store_visit(services.store, record)
        return LoggedVisit(record, None)
    repair_params = RepairParams(
        today=record.day,
        frozen_days=1,
        time_limit_s=min(REPAIR_TIME_LIMIT_S, settings.plan_time_limit_s),
    )

    def work(job: Job[RepairSummary]) -> RepairSummary:
        return repair.repair_current_plan(
            services.store,
            services.travel(),
            repair_params,
            PlanningSetup.of(settings),
            rep_id=record.rep_id,
            progress=job.report,
            user=user.username,
        )

    job = state.repair_jobs.start(
        record.rep_id, work, admitted=lambda: repair.store_visit(services.store, record)
    )
    return LoggedVisit(record, job)


@router.post("/route/visit", include_in_schema=False, dependencies=[CsrfDep])
def log_visit(
    user: UserDep,
    state: Annotated[AppState, Depends(get_state)],
    visit_id: Annotated[str, Form()],
    status: Annotated[str, Form()],
    at: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    rep: Annotated[str, Form()] = "",
    day: Annotated[str, Form()] = "",
) -> Response:
    """Record what happened at a planned stop; re-plan the rest after a missed or cancelled one."""
    fields = {"visit_id": visit_id, "status": status, "at": at, "note": note, "rep": rep}
    logged = log_outcome(state, user, dict(fields), source="form")
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
