"""Repair use cases: record what happened at a visit, re-plan the rest, say what changed.

A missed or cancelled visit is followed by a repair of the current plan (the web runs it as a
background job, the CLI with ``routeplanner repair``). The past and the next frozen working
days stay exactly as they were; the repaired plan is stored as a new current version.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from routeplanner.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    Problem,
    StaleStateError,
    StorageError,
)
from routeplanner.model import Account, DayRoute, Horizon, Plan, Rep, Territory
from routeplanner.model.calendar import MAX_HORIZON_WEEKS
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.planner import merge_plans
from routeplanner.scheduling.changes import ChangeKind
from routeplanner.scheduling.reasons import VisitReason, route_reasons
from routeplanner.scheduling.repair import (
    Absence,
    AdHocVisit,
    ChangeSet,
    RepairResult,
    VisitOutcome,
    diff_plans,
    frozen_until,
    repair_plan,
)
from routeplanner.services.current import no_current_plan
from routeplanner.services.params import Params, limited
from routeplanner.services.planning import (
    MAX_TIME_LIMIT_S,
    PlanningSetup,
    fail_quietly,
    runner_meta,
    stored_inputs,
)
from routeplanner.services.scope import scope_for
from routeplanner.services.users import allowed_rep
from routeplanner.storage import Store
from routeplanner.storage.records import UserRecord
from routeplanner.storage.tables import NEXT_STEP_LENGTH, OUTCOME_LENGTH
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.units import parse_hhmm

__all__ = ["Absence", "AdHocVisit", "ChangeKind", "ChangeSet", "VisitReason"]

Progress = Callable[[str, float], None]
REPLANNING = (VisitStatus.MISSED, VisitStatus.CANCELLED)
"""Outcomes after which the rest of the plan is repaired."""
TIMED = (VisitStatus.DONE, VisitStatus.CHECKED_IN)
"""Outcomes that carry when the visit started."""
MAX_GRACE_DAYS: Final = 7
"""Most days ahead of today a stop may be reported (a rep a few time zones away)."""
STALE_ATTEMPTS: Final = 3
"""How often a repair is computed again when another version replaced its territory plans
while it ran, before it gives up with the StaleStateError."""
FINISHED = (VisitStatus.DONE, VisitStatus.MISSED, VisitStatus.CANCELLED)
"""Outcomes after which nothing is left to do at a stop that day."""
MAX_NOTE = 2000
MAX_ORDER_VALUE: Final = 1e9
"""Largest order value a visit report takes: more is a typo (a pasted id, cents twice)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairParams(Params):
    """What a repair is asked: from which day, how many working days stay frozen, new
    absences (rep id, span) and ad-hoc visits, and the search time per rep."""

    today: date
    frozen_days: int = limited(1, 0, 5 * MAX_HORIZON_WEEKS)
    time_limit_s: float = limited(10.0, 0.1, MAX_TIME_LIMIT_S)
    absences: tuple[tuple[str, Absence], ...] = ()
    ad_hoc: tuple[AdHocVisit, ...] = ()

    def absences_by_rep(self) -> dict[str, list[Absence]]:
        found: dict[str, list[Absence]] = {}
        for rep_id, span in self.absences:
            found.setdefault(rep_id, []).append(span)
        return found


@dataclass(frozen=True, slots=True)
class RepairSummary:
    """A repaired plan stored as the new current version, with what changed per rep;
    ``plan`` is what the version wrote (a rep's repair: that rep's territory plan)."""

    plan_id: int
    previous_plan_id: int
    plan: Plan
    changes: dict[str, ChangeSet]
    frozen_until: dict[str, date]


def _outcomes(records: Sequence[VisitRecord], horizon: Horizon) -> list[VisitOutcome]:
    out = []
    for r in records:
        start_s = horizon.from_datetime(r.actual_start)[1] if r.actual_start else None
        out.append(
            VisitOutcome(
                visit_id=r.visit_id or f"{r.account_id}@{r.day.isoformat()}",
                status=r.status,
                actual_day=r.day,
                actual_start_s=start_s,
            )
        )
    return out


def _unknown(params: RepairParams, rep_ids: set[str], account_ids: set[str]) -> list[Problem]:
    problems = [
        Problem("--absent", None, "rep", f"unknown rep {rep_id!r}")
        for rep_id in params.absences_by_rep()
        if rep_id not in rep_ids
    ]
    return problems + [
        Problem("--adhoc", None, "account", f"unknown account {v.account_id!r}")
        for v in params.ad_hoc
        if v.account_id not in account_ids
    ]


def repair_current_plan(
    store: Store,
    travel: TravelTimeProvider,
    params: RepairParams,
    setup: PlanningSetup,
    *,
    rep_id: str | None = None,
    progress: Progress | None = None,
    user: str = "",
) -> RepairSummary:
    """Re-plan the future of the current plan after what reps reported; store it as a version.

    Every rep's territory is an independent repair job. With ``rep_id`` only that rep's
    territory is repaired and the new version writes only that rep's territory plan (a
    visit report repairs its rep alone). Absences are also stored on the rep (as days off)
    so later plans respect them, in the same transaction as the plan. A repair computed
    from a territory plan that another version replaced meanwhile is never stored; it is
    computed again from the newer one (up to :data:`STALE_ATTEMPTS` times).

    Raises
    ------
    InputError
        No current plan, an absence of an unknown rep, or an ad-hoc visit of an unknown account.
    NotFoundError
        No rep ``rep_id``.
    StaleStateError
        Other versions kept replacing the territory plans while it was computed again.
    """
    for _ in range(STALE_ATTEMPTS - 1):
        with contextlib.suppress(StaleStateError):
            return _repair(store, travel, params, setup, rep_id, progress, user)
    return _repair(store, travel, params, setup, rep_id, progress, user)


@dataclass(frozen=True, slots=True)
class _Base:
    """What a repair starts from: the current version and who wrote each territory plan."""

    plan_id: int
    plan: Plan
    horizon: Horizon
    written_by: dict[str, int]


def _base(store: Store) -> _Base:
    with store.read("reading the plan to repair") as tx:
        current = tx.plans.current()
        if current is None:
            raise InputError(Problem("database", None, "plan", "no current plan: run `plan` first"))
        plan_id, plan = current
        horizon = tx.plans.info(plan_id).horizon
        written_by = {t.rep_id: t.plan_id for t in tx.plans.territories(plan_id)}
    return _Base(plan_id, plan, horizon, written_by)


def _repair(
    store: Store,
    travel: TravelTimeProvider,
    params: RepairParams,
    setup: PlanningSetup,
    rep_id: str | None,
    progress: Progress | None,
    user: str,
) -> RepairSummary:
    base = _base(store)
    accounts, reps = stored_inputs(store)
    by_account = {a.account_id: a for a in accounts}
    rep_by_id = {r.rep_id: r for r in reps}
    problems = _unknown(params, set(rep_by_id), set(by_account))
    if problems:
        raise InputError(problems)
    territories = [t for t in store.territories.all() if t.rep_id in rep_by_id]
    if rep_id is not None:
        territories = [t for t in territories if t.rep_id == rep_id]
        territories = territories or _planned_territory(base.plan, rep_by_id, rep_id)
    records = store.visits.find(start=base.horizon.start, end=base.horizon.end)
    results = {}
    for index, territory in enumerate(territories):
        rep = rep_by_id[territory.rep_id or ""]
        if progress is not None:
            progress(f"repairing {rep.name}", index / max(1, len(territories)))
        results[rep.rep_id] = _repair_territory(
            base, territory, by_account, rep, records, params, setup, travel
        )
    absences = params.absences_by_rep()
    updated = [
        replace(rep_by_id[r], days_off=rep_by_id[r].days_off.union(*(a.days() for a in spans)))
        for r, spans in absences.items()
        if rep_id is None or r == rep_id
    ]
    meta = {"repair_of": str(base.plan_id), "today": str(params.today), **runner_meta()}
    if rep_id is not None:
        meta["rep_id"] = rep_id
    owned = {a for t in territories for a in t.account_ids}
    plan = _repaired_plan(base, results, rep_id, set(meta), owned)
    plan_id = store.plans.start(base.horizon, meta, user=user)
    try:
        with store.transaction("storing the repaired plan") as tx:
            if updated:
                tx.reps.upsert(updated, source="absence")
            tx.plans.complete(
                plan_id,
                plan,
                rep_id=rep_id,
                bases={r: base.written_by.get(r) for r in results},
                changes={r: changes_data(result.changes) for r, result in results.items()},
            )
    except BaseException as exc:
        fail_quietly(store, plan_id, exc)
        raise
    if progress is not None:
        progress("repaired", 1.0)
    changes = {r: result.changes for r, result in results.items()}
    frozen = {r: result.frozen_until for r, result in results.items()}
    return RepairSummary(plan_id, base.plan_id, plan, changes, frozen)


def _planned_territory(plan: Plan, reps: Mapping[str, Rep], rep_id: str) -> list[Territory]:
    """A rep with no stored territory (planned before territories were stored) keeps the
    accounts of their routes."""
    if rep_id not in reps:
        msg = f"no rep {rep_id!r} to repair"
        raise NotFoundError(msg)
    ids = dict.fromkeys(s.account_id for r in plan.routes_of(rep_id) for s in r.stops)
    return [
        Territory(
            territory_id=rep_id, name=reps[rep_id].name, rep_id=rep_id, account_ids=tuple(ids)
        )
    ]


def _repair_territory(
    base: _Base,
    territory: Territory,
    by_account: Mapping[str, Account],
    rep: Rep,
    records: Sequence[VisitRecord],
    params: RepairParams,
    setup: PlanningSetup,
    travel: TravelTimeProvider,
) -> RepairResult:
    ids = set(territory.account_ids)
    return repair_plan(
        base.plan,
        [by_account[a] for a in territory.account_ids if a in by_account],
        rep,
        base.horizon,
        travel,
        today=params.today,
        records=_outcomes([r for r in records if r.rep_id == rep.rep_id], base.horizon),
        ad_hoc=[v for v in params.ad_hoc if v.account_id in ids],
        absences=params.absences_by_rep().get(rep.rep_id, ()),
        frozen_days=params.frozen_days,
        holidays=setup.holidays,
        time_limit_s=params.time_limit_s,
    )


def _repaired_plan(
    base: _Base,
    results: Mapping[str, RepairResult],
    rep_id: str | None,
    version_keys: set[str],
    owned: set[str],
) -> Plan:
    """The whole repaired plan, or for one rep that rep's territory plan with the version's
    meta: the previous plan's, with the rep's search statistics replaced."""
    plans = [r.plan for r in results.values()]
    if rep_id is None:
        orphans = [u for u in base.plan.unassigned if u.account_id not in owned]
        return merge_plans(plans, orphans)
    merged = merge_plans(plans)
    prefix = f"{rep_id}."
    meta = {
        k: v
        for k, v in base.plan.meta.items()
        if k not in version_keys and not k.startswith(prefix)
    }
    meta.update({k: v for k, v in merged.meta.items() if k.startswith(prefix)})
    return replace(merged, meta=meta)


def changes_data(changes: ChangeSet) -> dict[str, Any]:
    """A change set as plain JSON data, as stored with the rep's territory plan: every changed
    visit with its reason (``visits``), and the moved, added and dropped views."""
    return {
        "visits": changes.to_dicts(),
        "moved": [
            {
                "account_id": m.account_id,
                "old_day": m.old_day.isoformat(),
                "new_day": m.new_day.isoformat(),
            }
            for m in changes.moved
        ],
        "added": list(changes.added),
        "dropped": list(changes.dropped),
    }


def territory_changes(store: Store, plan_id: int, rep_id: str) -> Any:
    """What the repair that wrote ``rep_id``'s territory plan in version ``plan_id`` changed
    for the rep (the JSON data of :func:`changes_data`), or ``None``: that version did not
    write the rep's territory plan, or it was no repair."""
    for version in store.plans.territory_history(rep_id):
        if version.plan_id == plan_id:
            return version.changes
    return None


# -- visit outcomes ------------------------------------------------------------------------------


REPORT_ID: Final = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitParams(Params):
    """What happened at a planned stop. ``at`` (HH:MM) is when a done or checked-in visit
    started; with ``now_if_untimed`` an untimed one started now (a rep reporting on the spot),
    else it stays untimed (a report after the fact). ``rep`` is the rep the caller believes
    the stop belongs to (a rep may only name themselves). Only stops of days up to today
    plus ``grace_days`` may be reported. ``outcome`` is a short result (``order``,
    ``no order`` …; empty: none); a done visit may carry the value of the order taken
    (``order_value``) and the ``next_step`` agreed. ``report_id`` is the id the phone made for
    the report (8-64 letters, digits, ``-`` or ``_``; empty: none): a report sent again under it
    is the same report (see :func:`sent_before`)."""

    visit_id: str
    status: VisitStatus
    at: str = ""
    note: str = ""
    rep: str = ""
    outcome: str = ""
    now_if_untimed: bool = False
    grace_days: int = limited(0, 0, MAX_GRACE_DAYS)
    report_id: str = ""
    order_value: float | None = limited(None, 0, MAX_ORDER_VALUE)
    next_step: str = ""

    @classmethod
    def rules(cls, values: Mapping[str, object]) -> list[tuple[str, str]]:
        if not values["visit_id"]:
            return [("visit_id", "which visit? (a visit id such as A001@2026-11-24)")]
        if values["status"] is None:
            return [("status", "what happened? (done, checked_in, missed or cancelled)")]
        found = []
        if len(str(values.get("outcome") or "").strip()) > OUTCOME_LENGTH:
            found.append(("outcome", f"at most {OUTCOME_LENGTH} characters"))
        if len(str(values.get("note") or "")) > MAX_NOTE:
            found.append(("note", f"at most {MAX_NOTE} characters"))
        report_id = str(values.get("report_id") or "")
        if report_id and not REPORT_ID.fullmatch(report_id):
            found.append(("report_id", "8 to 64 letters, digits, - or _ (a UUID)"))
        if len(str(values.get("next_step") or "").strip()) > NEXT_STEP_LENGTH:
            found.append(("next_step", f"at most {NEXT_STEP_LENGTH} characters"))
        if values.get("order_value") is not None and values["status"] is not VisitStatus.DONE:
            found.append(("order_value", "only a done visit takes an order"))
        return found


def _started(
    params: VisitParams, day: date, horizon: Horizon, checked_in: datetime | None
) -> datetime | None:
    """When the visit started: the time given, else (done after a check-in) the check-in's,
    else now when reported on the spot."""
    if params.status not in TIMED:
        return None
    if params.at.strip():
        try:
            return horizon.to_datetime(day, parse_hhmm(params.at.strip()))
        except ValueError as exc:
            raise InputError(Problem("visit", None, "at", f"{params.at!r}: {exc}")) from exc
    if checked_in is not None:
        return checked_in
    if not params.now_if_untimed:
        return None
    now = datetime.now(tz=horizon.tz)
    return horizon.to_datetime(day, now.hour * 3600 + now.minute * 60)


def record_visit(
    store: Store, params: VisitParams, *, user: UserRecord | None, today: date | None = None
) -> VisitRecord:
    """Store what happened at a stop of the current plan (see :func:`visit_record`); the
    answer carries the stored record's id."""
    return store_visit(store, visit_record(store, params, user=user, today=today))


def store_visit(store: Store, record: VisitRecord) -> VisitRecord:
    """Store a record made by :func:`visit_record`; the record with its stored id. When the
    same phone report arrived in between (two retries at once), the one stored first."""
    try:
        return replace(record, record_id=store.visits.record(record))
    except StorageError:
        earlier = sent_before(store, record.report_id, user=None)
        if earlier is None:
            raise
        return earlier


def reportable(day: date, today: date, grace_days: int = 0) -> bool:
    """Whether a stop on ``day`` may be reported ``today``: days up to today, plus
    ``grace_days`` (a rep a few time zones away)."""
    return day <= today + timedelta(days=max(0, grace_days))


def _latest(store: Store, visit_id: str, rep_id: str, day: date) -> VisitRecord | None:
    found = [
        r for r in store.visits.find(rep_id=rep_id, start=day, end=day) if r.visit_id == visit_id
    ]
    return found[-1] if found else None


def visit_record(
    store: Store, params: VisitParams, *, user: UserRecord | None, today: date | None = None
) -> VisitRecord:
    """What happened at a stop of the current plan, checked but not stored yet; a missed or
    cancelled one should be followed by a repair of its rep's territory (see
    :data:`REPLANNING`). ``user`` is who reports (``None``: the command line, which may
    report any stop); ``today`` defaults to today in the plan's time zone. A later report of
    the same stop replaces an earlier one (a corrected time); done after a check-in keeps the
    check-in's start.

    Raises
    ------
    PermissionDeniedError
        A rep naming or reporting another rep's stop.
    NotFoundError
        No such visit in the current plan.
    InputError
        No current plan, a stop of a day after today plus ``grace_days``, or a time that is
        not HH:MM.
    """
    scope = None if user is None else scope_for(store, user)
    if user is not None and scope is not None:
        allowed_rep(user, params.rep or None, scope)
    # Only where the visit is planned is needed: a report on a phone must not load the plan.
    with store.read("finding the reported visit") as tx:
        info = tx.plans.current_info()
        if info is None:
            raise no_current_plan()
        stop = tx.plans.stop(info.plan_id, params.visit_id)
    if stop is None:
        msg = f"no planned visit {params.visit_id!r}"
        raise NotFoundError(msg)
    rep_id, day, account_id, horizon = stop.rep_id, stop.day, stop.account_id, info.horizon
    if user is not None and scope is not None:
        allowed_rep(user, rep_id, scope)
    _check_reportable(params, day, today or datetime.now(tz=horizon.tz).date())
    previous = _latest(store, params.visit_id, rep_id, day)
    checked_in = None
    if previous is not None and previous.status is VisitStatus.CHECKED_IN:
        checked_in = previous.actual_start
    return VisitRecord(
        account_id=account_id,
        rep_id=rep_id,
        day=day,
        status=params.status,
        visit_id=params.visit_id,
        actual_start=_started(params, day, horizon, checked_in),
        note=params.note.strip(),
        recorded_by=user.username if user is not None else "",
        outcome=params.outcome.strip() or None,
        report_id=params.report_id,
        order_value=params.order_value,
        next_step=params.next_step.strip(),
    )


def sent_before(store: Store, report_id: str, *, user: UserRecord | None) -> VisitRecord | None:
    """The report stored under the phone's ``report_id`` (withdrawn or not), or ``None``: a
    phone that retries a report it queued offline gets the first one back, never a second.

    Raises
    ------
    ConflictError
        The id belongs to a report of a rep the user may not see (ids are made on phones;
        nothing leaks).
    """
    if not report_id:
        return None
    found = store.visits.find(report_id=report_id, withdrawn=True)
    if not found:
        return None
    record = found[0]
    if user is not None and not scope_for(store, user).sees_rep(record.rep_id):
        msg = "this report id is taken; send the report under a new one"
        raise ConflictError(msg)
    return record


def _check_reportable(params: VisitParams, day: date, today: date) -> None:
    """Refuse reports of days still to come: a future "missed" would re-plan on a guess."""
    if not reportable(day, today, params.grace_days):
        last = today + timedelta(days=params.grace_days)
        msg = f"{params.visit_id!r} is planned for {day}; only days up to {last} can be reported"
        raise InputError(Problem("visit", None, "day", msg))


def withdraw_report(
    store: Store,
    record_id: int,
    *,
    user: UserRecord | None,
    grace_s: float,
    now: datetime | None = None,
) -> VisitRecord:
    """Undo a missed or cancelled report within ``grace_s`` seconds of recording it, before
    the plan repair it would start has begun (the caller holds the repair back that long).
    The record stays stored, marked withdrawn, and no longer counts anywhere.

    Raises
    ------
    NotFoundError
        No such record (also one of a rep the user may not see: nothing leaks).
    ConflictError
        Not a missed or cancelled report, withdrawn already, or the grace period is over.
    """
    found = store.visits.find(record_id=record_id, withdrawn=True)
    missing = NotFoundError(f"visit report {record_id} not found")
    if not found:
        raise missing
    record = found[0]
    if user is not None and not scope_for(store, user).sees_rep(record.rep_id):
        raise missing
    if record.status not in REPLANNING:
        msg = f"only a missed or cancelled report can be undone, not {record.status.value}"
        raise ConflictError(msg)
    now = now or datetime.now(UTC)
    recorded = record.recorded_at
    if recorded is None or (now - recorded).total_seconds() > grace_s:
        msg = "too late to undo: the plan is being repaired already"
        raise ConflictError(msg)
    if record.withdrawn_at is not None or not store.visits.withdraw(record_id, now):
        msg = "this report was undone already"
        raise ConflictError(msg)
    return replace(record, withdrawn_at=now)


def needs_repair(record: VisitRecord) -> bool:
    """Whether the rest of the plan must be re-planned after ``record``."""
    return record.status in REPLANNING


# -- what the rep's day shows --------------------------------------------------------------------


def stop_reasons(
    store: Store,
    plan: Plan,
    route: DayRoute,
    accounts: Mapping[str, Account],
    *,
    today: date,
) -> tuple[dict[str, VisitReason], dict[str, VisitRecord]]:
    """Why each stop of ``route`` is on the day (due, overdue, follow-up), and what was
    reported for each stop so far (the latest record per visit id), from one small query:
    the history of the day's accounts up to the day."""
    ids = {s.account_id for s in route.stops}
    if not ids:
        return {}, {}
    records = store.visits.find(account_ids=ids, end=route.day)
    reported = {
        r.visit_id: r
        for r in records
        if r.day == route.day and r.rep_id == route.rep_id and r.visit_id
    }
    return route_reasons(route, plan, accounts, records, today=today), reported


def latest_repair(store: Store, rep_id: str) -> tuple[int, ChangeSet] | None:
    """The version that last wrote ``rep_id``'s territory plan and what it changed for the
    rep, when that version was a repair with a stored change list (else ``None``): what the
    day page keeps showing after the rep has left it."""
    history = store.plans.territory_history(rep_id)
    if not history:
        return None
    newest = history[0]
    stored = newest.changes
    if not isinstance(stored, Mapping) or "visits" not in stored:
        return None
    return newest.plan_id, ChangeSet.from_dicts(stored["visits"])


def repair_changes(store: Store, plan_id: int, rep: Rep) -> ChangeSet | None:
    """What a stored repair version changed for ``rep`` after its frozen days (works after a
    restart, when the job is gone); ``None`` for a version that is not a repair. The change
    list stored with the rep's territory plan, with its reasons; else, for a version that did
    not write one, found by comparing it with the version it repaired."""
    info = store.plans.info(plan_id)
    previous, today = info.meta.get("repair_of", ""), info.meta.get("today", "")
    if not previous.isdigit() or not today:
        return None
    stored = territory_changes(store, plan_id, rep.rep_id)
    if isinstance(stored, Mapping) and "visits" in stored:
        return ChangeSet.from_dicts(stored["visits"])
    old, new = store.plans.get(int(previous)), store.plans.get(plan_id)
    # The repair notes each rep's last frozen day; versions stored before it did froze one.
    noted = new.meta.get(f"{rep.rep_id}.frozen_until", "")
    cut = (
        date.fromisoformat(noted)
        if noted
        else frozen_until(rep, date.fromisoformat(today), 1, info.horizon)
    )
    return diff_plans(old, new, rep.rep_id, after=cut)
