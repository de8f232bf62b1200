"""Coverage KPIs of a plan per rep and territory: is every account seen as often as agreed?

Definitions (also shown in the UI, so kept simple and exact):

- *required* visits: occurrences due in the horizon by each account's rule and last visit (one
  more when every allowed chain drifts early and would leave a gap open at the end);
- *scheduled* visits: stops in the plan for those accounts;
- *overdue* accounts: some stretch of the horizon goes longer than the rule's max gap without a
  visit (from the last visit, between planned visits, or up to the horizon end);
- *adherence*: share of consecutive-visit gaps (including last visit -> first planned visit)
  within the rule's [min gap, max gap];
- *drive share*: driving time / working time (route start to end) over all routes;
- *workload*: route duration per working day (0 on an empty working day), with its standard
  deviation and range as the balance measure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from routeplanner.model import Account, Horizon, Plan, Rep, Territory
from routeplanner.scheduling.calendar import visitable_days, working_days
from routeplanner.scheduling.frequency import due_occurrences, visit_options


@dataclass(frozen=True, slots=True, kw_only=True)
class CoverageKpis:
    """KPIs of one scope (a rep or a territory); times in seconds."""

    scope: str
    accounts: int
    required_visits: int
    scheduled_visits: int
    unassigned_visits: int
    overdue_accounts: int
    gaps_total: int
    gaps_within: int
    drive_s: int
    work_s: int
    workload_s: tuple[tuple[date, int], ...]

    @property
    def adherence(self) -> float:
        return self.gaps_within / self.gaps_total if self.gaps_total else 1.0

    @property
    def drive_share(self) -> float:
        return self.drive_s / self.work_s if self.work_s else 0.0

    @property
    def workload_mean_s(self) -> float:
        loads = [w for _, w in self.workload_s]
        return sum(loads) / len(loads) if loads else 0.0

    @property
    def workload_std_s(self) -> float:
        loads = [w for _, w in self.workload_s]
        if not loads:
            return 0.0
        mean = self.workload_mean_s
        return math.sqrt(sum((w - mean) ** 2 for w in loads) / len(loads))

    @property
    def workload_range_s(self) -> int:
        loads = [w for _, w in self.workload_s]
        return max(loads) - min(loads) if loads else 0

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "scope": self.scope,
            "accounts": self.accounts,
            "required_visits": self.required_visits,
            "scheduled_visits": self.scheduled_visits,
            "unassigned_visits": self.unassigned_visits,
            "overdue_accounts": self.overdue_accounts,
            "adherence": round(self.adherence, 4),
            "drive_h": round(self.drive_s / 3600, 2),
            "drive_share": round(self.drive_share, 4),
            "workload_mean_h": round(self.workload_mean_s / 3600, 2),
            "workload_std_h": round(self.workload_std_s / 3600, 2),
            "workload_range_h": round(self.workload_range_s / 3600, 2),
        }


def coverage_kpis(
    plan: Plan,
    accounts: Sequence[Account],
    rep: Rep,
    horizon: Horizon,
    *,
    holidays: frozenset[date] = frozenset(),
    scope: str | None = None,
) -> CoverageKpis:
    """KPIs of ``rep``'s part of ``plan`` for ``accounts`` (see the module docstring)."""
    ids = {a.account_id for a in accounts}
    routes = [r for r in plan.routes_of(rep.rep_id) if horizon.start <= r.day <= horizon.end]
    visits: dict[str, list[date]] = {}
    for r in routes:
        for s in r.stops:
            if s.account_id in ids:
                visits.setdefault(s.account_id, []).append(r.day)
    required = 0
    overdue = 0
    gaps_total = 0
    gaps_within = 0
    days_worked = working_days(rep, horizon, holidays)
    for acc in accounts:
        rule = acc.visit_rule
        allowed = visitable_days(acc, rep, days_worked)
        required += len(visit_options(acc, allowed, horizon.start, horizon.end).occurrences)
        days = sorted(visits.get(acc.account_id, []))
        chain = ([acc.last_visit] if acc.last_visit is not None else []) + days
        late = False
        for a, b in pairwise(chain):
            gap = (b - a).days
            gaps_total += 1
            if rule.min_gap_days <= gap <= rule.max_gap_days:
                gaps_within += 1
            if gap > rule.max_gap_days:
                late = True
        if chain:
            # Overdue at the end: the next visit was due inside the horizon but is not planned.
            if chain[-1] + timedelta(days=rule.max_gap_days) < horizon.end:
                late = True
        elif due_occurrences(rule, None, horizon.start, horizon.end):
            late = True
        overdue += late
    scheduled = sum(len(v) for v in visits.values())
    unassigned = sum(1 for u in plan.unassigned if u.account_id in ids)
    drive = sum(r.travel_s for r in routes)
    work = sum(r.end_s - r.start_s for r in routes if r.stops)
    by_day = {r.day: (r.end_s - r.start_s if r.stops else 0) for r in routes}
    workload = tuple((d, by_day.get(d, 0)) for d in working_days(rep, horizon, holidays))
    return CoverageKpis(
        scope=scope or rep.rep_id,
        accounts=len(accounts),
        required_visits=required,
        scheduled_visits=scheduled,
        unassigned_visits=unassigned,
        overdue_accounts=overdue,
        gaps_total=gaps_total,
        gaps_within=gaps_within,
        drive_s=drive,
        work_s=work,
        workload_s=workload,
    )


def territory_kpis(
    plan: Plan,
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    territories: Sequence[Territory],
    horizon: Horizon,
    *,
    holidays: frozenset[date] = frozenset(),
) -> Mapping[str, CoverageKpis]:
    """KPIs per territory (keyed by territory id); territories without a rep are skipped."""
    by_id = {a.account_id: a for a in accounts}
    rep_by_id = {r.rep_id: r for r in reps}
    out: dict[str, CoverageKpis] = {}
    for t in territories:
        if t.rep_id is None or t.rep_id not in rep_by_id:
            continue
        accs = [by_id[a] for a in t.account_ids if a in by_id]
        out[t.territory_id] = coverage_kpis(
            plan, accs, rep_by_id[t.rep_id], horizon, holidays=holidays, scope=t.territory_id
        )
    return out
