"""Visit logging from the rep's phone: check in, done, missed, cancelled (small POST forms), undo
of a missed or cancelled report, and an ad-hoc visit added from an account's card.

:func:`log_outcome` is shared with ``POST /api/v1/visits`` (:mod:`.api_visits`): both record
with :func:`routeplanner.services.repair.record_visit`, and a missed or cancelled visit starts
the repair of the rest of the plan as a background job after the undo grace period
(``RP_UNDO_GRACE_S``, held back in the repair queue). Every form redirects back to the stop
it came from (``#stop-N``) with what was saved, so the page can confirm it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response

from routeplanner.model.history import VisitRecord
from routeplanner.services import field, repair
from routeplanner.services.planning import PlanningSetup
from routeplanner.services.repair import AdHocVisit, RepairParams, RepairSummary, VisitParams
from routeplanner.services.scope import scope_for
from routeplanner.services.users import allowed_rep
from routeplanner.settings import Settings
from routeplanner.storage.records import UserRecord
from routeplanner.web.auth import CsrfDep, UserDep
from routeplanner.web.jobs import Job, RepairJob
from routeplanner.web.schemas import DbIdForm
from routeplanner.web.state import AppState, get_state

router = APIRouter()
StateDep = Annotated[AppState, Depends(get_state)]
REPAIR_TIME_LIMIT_S = 3.0  # per territory: the rep waits for it on the phone
UNDO_MARGIN_S = 2.0
"""Slack on the grace period for the stored report's age: the repair job, not the clock,
decides whether an undo comes in time (it starts a moment after the report is stored)."""


def local_today(settings: Settings) -> date:
    """Today in the plans' time zone (what "today" means for reports and the day page)."""
    return datetime.now(tz=ZoneInfo(settings.timezone)).date()


@dataclass(frozen=True, slots=True)
class LoggedVisit:
    """A stored outcome and, after a missed or cancelled visit, the repair job it started."""

    record: VisitRecord
    job: RepairJob | None


def _repair_work(
    state: AppState, user: UserRecord, rep_id: str, today: date, ad_hoc: tuple[AdHocVisit, ...]
) -> Callable[[RepairJob], RepairSummary]:
    """The repair of ``rep_id``'s territory plan as a job's work."""
    services = state.services
    settings = services.settings
    params = RepairParams(
        today=today,
        frozen_days=1,
        time_limit_s=min(REPAIR_TIME_LIMIT_S, settings.plan_time_limit_s),
        ad_hoc=ad_hoc,
    )

    def work(job: Job[RepairSummary]) -> RepairSummary:
        return repair.repair_current_plan(
            services.store,
            services.travel(),
            params,
            PlanningSetup.of(settings),
            rep_id=rep_id,
            progress=job.report,
            user=user.username,
        )

    return work


def start_ad_hoc_repair(
    state: AppState, user: UserRecord, rep_id: str, today: date, visit: AdHocVisit
) -> RepairJob:
    """Repair ``rep_id``'s territory plan with an extra visit pinned (no report to undo)."""
    work = _repair_work(state, user, rep_id, today, (visit,))
    return state.repair_jobs.start(rep_id, work)


def log_outcome(
    state: AppState, user: UserRecord, fields: dict[str, str | None], *, source: str
) -> LoggedVisit:
    """Record what happened at a planned stop (``visit_id``, ``status``, ``at``, ``note``,
    ``outcome``, ``order_value``, ``next_step``, ``rep`` as text); after a missed or
    cancelled one, repair the rest of its rep's territory plan once the undo grace period
    is over (a report refused by the repair queue is not stored). An untimed done or
    checked-in visit started now (or at its check-in): the rep reports on the spot."""
    settings = state.services.settings
    texts = {**fields, "now_if_untimed": "yes", "grace_days": str(settings.visit_grace_days)}
    params = VisitParams.from_text(texts, source=source)
    store = state.services.store
    earlier = repair.sent_before(store, params.report_id, user=user)
    if earlier is not None:  # the phone sent it again (offline queue, retry): the same report
        return LoggedVisit(earlier, None)
    record = repair.visit_record(store, params, user=user, today=local_today(settings))
    if not repair.needs_repair(record):
        return LoggedVisit(repair.store_visit(store, record), None)
    stored: list[VisitRecord] = []

    def admitted() -> VisitRecord:
        stored.append(repair.store_visit(store, record))
        return stored[-1]

    work = _repair_work(state, user, record.rep_id, record.day, ())
    job = state.repair_jobs.start(
        record.rep_id, work, admitted=admitted, delay_s=settings.undo_grace_s
    )
    return LoggedVisit(stored[-1] if stored else record, job)


def undo_report(state: AppState, user: UserRecord, job_id: int, record_id: int) -> RepairJob:
    """Undo missed or cancelled report ``record_id`` of waiting repair job ``job_id`` (shared
    with the API): the report is withdrawn; a repair left with no report never runs."""
    job = state.repair_jobs.find(job_id)
    allowed_rep(user, job.rep_id, scope_for(state.services.store, user))
    grace = state.services.settings.undo_grace_s + UNDO_MARGIN_S

    def withdraw() -> object:
        return repair.withdraw_report(state.services.store, record_id, user=user, grace_s=grace)

    return state.repair_jobs.undo(job_id, record_id, withdraw)


def _back(rep: str, day: str, stop: str, **extra: str) -> RedirectResponse:
    """Back to the day page at stop ``stop`` (``#stop-N``: the page keeps its place)."""
    query = {"rep": rep, "day": day, **extra}
    anchor = f"#stop-{int(stop)}" if stop.isdigit() and len(stop) <= 4 else ""
    return RedirectResponse(f"/route?{urlencode(query)}{anchor}", status_code=303)


@router.post("/route/visit", include_in_schema=False, dependencies=[CsrfDep])
def log_visit(
    user: UserDep,
    state: StateDep,
    visit_id: Annotated[str, Form(max_length=200)],
    status: Annotated[str, Form(max_length=40)],
    at: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    outcome: Annotated[str, Form(max_length=200)] = "",
    pick: Annotated[str, Form(max_length=200)] = "",
    order_value: Annotated[str, Form(max_length=40)] = "",
    next_step: Annotated[str, Form(max_length=400)] = "",
    rep: Annotated[str, Form(max_length=200)] = "",
    stop: Annotated[str, Form(max_length=10)] = "",
    report_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Record what happened at a planned stop; re-plan the rest after a missed or cancelled one
    (unless undone within the grace period). ``pick`` is an outcome button (one tap for the
    common case): it wins over the typed ``outcome``."""
    fields = {
        "visit_id": visit_id,
        "status": status,
        "at": at,
        "note": note,
        "outcome": pick or outcome,
        "order_value": order_value,
        "next_step": next_step,
        "rep": rep,
        "report_id": report_id,
    }
    logged = log_outcome(state, user, dict(fields), source="form")
    record = logged.record
    extra = {"saved": record.visit_id}
    if logged.job is not None:
        extra["job"] = str(logged.job.job_id)
        extra["report"] = str(record.record_id)
    return _back(record.rep_id, record.day.isoformat(), stop, **extra)


@router.post("/route/visit/undo", include_in_schema=False, dependencies=[CsrfDep])
def undo_visit(
    user: UserDep,
    state: StateDep,
    job: DbIdForm,
    report: DbIdForm,
    day: Annotated[date, Form()],
    visit_id: Annotated[str, Form(max_length=200)] = "",
    stop: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Undo a missed or cancelled report before its repair starts (409 once it has)."""
    found = undo_report(state, user, job, report)
    return _back(found.rep_id, day.isoformat(), stop, undone=visit_id)


@router.post("/route/adhoc", include_in_schema=False, dependencies=[CsrfDep])
def add_ad_hoc_visit(
    user: UserDep,
    state: StateDep,
    account_id: Annotated[str, Form(min_length=1, max_length=200)],
    day: Annotated[date, Form()],
) -> Response:
    """Add an extra visit of an account on a day: the plan is repaired with it pinned there,
    and the rep sees that day with the repair's progress."""
    today = local_today(state.services.settings)
    request = field.ad_hoc_request(state.services.store, user, account_id, day, today=today)
    job = start_ad_hoc_repair(state, user, request.rep_id, today, request.visit)
    query = {"rep": request.rep_id, "day": day.isoformat(), "job": str(job.job_id)}
    return RedirectResponse(f"/route?{urlencode(query)}", status_code=303)
