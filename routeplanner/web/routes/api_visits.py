"""JSON API for logging visit outcomes (``POST /api/v1/visits``), as the day page's buttons do.

The outcome goes through the page's own :func:`~.visits.log_outcome`, so both accept, refuse
and re-plan exactly alike. As on the page, a missed or cancelled visit starts the plan repair
in the background: the answer is then 202 with the repair job, which
``GET /api/v1/visits/jobs/{job_id}`` reports until it is done, with what moved. A done or
checked-in visit needs no repair: 200 and no job.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from routeplanner.errors import NotFoundError
from routeplanner.services.repair import MAX_ORDER_VALUE, ChangeSet
from routeplanner.services.scope import Scope
from routeplanner.web.auth import ApiScopeDep, ApiUserDep, api_csrf
from routeplanner.web.jobs import RepairJob
from routeplanner.web.routes.visits import log_outcome, undo_report
from routeplanner.web.schemas import API_ERRORS, MAX_DB_ID, DbIdPath
from routeplanner.web.state import AppState, get_state

router = APIRouter(prefix="/api/v1", tags=["visits"], responses=API_ERRORS)
StateDep = Annotated[AppState, Depends(get_state)]


class VisitLog(BaseModel):
    visit_id: str = Field(min_length=1, max_length=200, description="a stop of the current plan")
    status: str = Field(
        max_length=40, description="done | checked_in | missed | cancelled (anything else: 422)"
    )
    at: str = Field(
        default="",
        max_length=20,
        description="local time HH:MM of a done or checked-in visit; empty: now",
    )
    note: str = Field(default="", max_length=2000)
    outcome: str = Field(
        default="",
        max_length=60,
        description="optional short result (order, no order, follow-up needed …)",
    )
    rep: str = Field(
        default="",
        max_length=200,
        description="optional: the rep the caller believes the stop belongs to (a rep may "
        "only name themselves: 403 otherwise)",
    )
    report_id: str = Field(
        default="",
        max_length=64,
        description="optional id the client made for this report (a UUID): sent again, the "
        "same report is answered and nothing new is stored",
    )
    order_value: float | None = Field(
        default=None,
        ge=0,
        le=MAX_ORDER_VALUE,
        description="optional: value of the order taken at a done visit",
    )
    next_step: str = Field(default="", max_length=200, description="optional: what was agreed")


class MovePublic(BaseModel):
    account_id: str
    old_day: date
    new_day: date


class VisitChangePublic(BaseModel):
    kind: str = Field(description="added | dropped | moved | reordered")
    account_id: str
    old_day: date | None
    new_day: date | None
    why: str = Field(description="the reason, for the rep and the manager")


class ChangesPublic(BaseModel):
    rep_id: str
    moved: list[MovePublic]
    added: list[str] = Field(description="visit ids new in the plan")
    dropped: list[str] = Field(description="visit ids no longer in the plan")
    visits: list[VisitChangePublic] = Field(description="every changed visit with its reason")

    @classmethod
    def of(cls, rep_id: str, changes: ChangeSet) -> ChangesPublic:
        return cls(
            rep_id=rep_id,
            moved=[
                MovePublic(account_id=m.account_id, old_day=m.old_day, new_day=m.new_day)
                for m in changes.moved
            ],
            added=list(changes.added),
            dropped=list(changes.dropped),
            visits=[VisitChangePublic.model_validate(c.to_dict()) for c in changes.changes],
        )


class RepairJobPublic(BaseModel):
    job_id: int
    rep_id: str
    state: str = Field(
        description="waiting (undo still possible) | running | done | failed | cancelled | undone"
    )
    error: str
    plan_id: int | None = Field(description="the repaired plan version, once done")
    previous_plan_id: int | None
    changes: list[ChangesPublic] = Field(
        description="what moved, per rep (a rep sees only their own), once done"
    )


class VisitLogged(BaseModel):
    record_id: int = Field(description="the stored report (to undo a missed or cancelled one)")
    visit_id: str
    account_id: str
    rep_id: str
    day: date
    status: str
    actual_start: datetime | None
    note: str
    outcome: str | None
    order_value: float | None
    next_step: str
    recorded_by: str
    job: RepairJobPublic | None = Field(
        description="the plan repair a missed or cancelled visit started (else null)"
    )


def _job(job: RepairJob, scope: Scope) -> RepairJobPublic:
    summary = job.summary
    changes = []
    if summary is not None:
        changes = [
            ChangesPublic.of(rep_id, change)
            for rep_id, change in sorted(summary.changes.items())
            if scope.sees_rep(rep_id)
        ]
    return RepairJobPublic(
        job_id=job.job_id,
        rep_id=job.rep_id,
        state=job.state,
        error=job.error,
        plan_id=None if summary is None else summary.plan_id,
        previous_plan_id=None if summary is None else summary.previous_plan_id,
        changes=changes,
    )


@router.post(
    "/visits",
    response_model=VisitLogged,
    dependencies=[Depends(api_csrf)],
    responses={202: {"model": VisitLogged, "description": "stored; a plan repair is running"}},
)
def log_visit(
    body: VisitLog, state: StateDep, user: ApiUserDep, scope: ApiScopeDep
) -> JSONResponse:
    """Log what happened at a planned stop (a rep: their own stops; a manager: any).

    200 for done and checked in; 202 for missed and cancelled, which start the repair of the
    rest of the plan as the day page does (poll ``job.job_id``; it waits ``RP_UNDO_GRACE_S``
    seconds first, in which ``POST /api/v1/visits/jobs/{job_id}/undo`` takes the report
    back). 404 unknown visit, 403 another rep's stop, 422 unknown status, bad time, a day
    still to come or no current plan; nothing is stored on any error.
    """
    fields = {
        "visit_id": body.visit_id,
        "status": body.status,
        "at": body.at,
        "note": body.note,
        "outcome": body.outcome,
        "order_value": "" if body.order_value is None else repr(body.order_value),
        "next_step": body.next_step,
        "rep": body.rep,
        "report_id": body.report_id,
    }
    logged = log_outcome(state, user, dict(fields), source="body")
    r = logged.record
    answer = VisitLogged(
        record_id=r.record_id,
        visit_id=r.visit_id or body.visit_id,
        account_id=r.account_id,
        rep_id=r.rep_id,
        day=r.day,
        status=r.status.value,
        actual_start=r.actual_start,
        note=r.note,
        outcome=r.outcome,
        order_value=r.order_value,
        next_step=r.next_step,
        recorded_by=r.recorded_by,
        job=None if logged.job is None else _job(logged.job, scope),
    )
    status = 200 if logged.job is None else 202
    return JSONResponse(answer.model_dump(mode="json"), status_code=status)


@router.get("/visits/jobs/{job_id}", response_model=RepairJobPublic)
def get_repair_job(
    job_id: DbIdPath, state: StateDep, _user: ApiUserDep, scope: ApiScopeDep
) -> RepairJobPublic:
    """A plan repair started by a logged visit: its state and, once done, what moved. Jobs live
    in memory (a restart forgets them); a rep sees only repairs of their own routes (404
    otherwise, as for an unknown job)."""
    job = state.repair_jobs.find(job_id)
    if not scope.sees_rep(job.rep_id):
        msg = f"repair job {job_id} not found"
        raise NotFoundError(msg)  # as if absent: nothing leaks
    return _job(job, scope)


class UndoReport(BaseModel):
    record_id: int = Field(ge=1, le=MAX_DB_ID, description="the report to take back")


@router.post(
    "/visits/jobs/{job_id}/undo",
    response_model=RepairJobPublic,
    dependencies=[Depends(api_csrf)],
)
def undo_repair_job(
    job_id: DbIdPath, body: UndoReport, state: StateDep, user: ApiUserDep, scope: ApiScopeDep
) -> RepairJobPublic:
    """Undo a missed or cancelled report (``record_id`` as answered when it was logged) of a
    waiting repair job: the report is withdrawn (kept, but no longer counted); a repair left
    with no report never runs (state ``undone``). 409 once the repair started, 403 another
    rep's job, 404 unknown job or a report the job does not cover."""
    return _job(undo_report(state, user, job_id, body.record_id), scope)
