"""From a visit rule and the last visit to the visits due in a horizon and their allowed days.

Each account gets a chain of *occurrences* (the 1st, 2nd, ... visit due in the horizon), each
with a target date and a window (target minus/plus the rule's gap slack), and a list of day
*combinations*: one allowed day per occurrence with every gap, including the gap to the last
visit, inside the rule's bounds. The scheduler only chooses among these combinations, so spacing
holds by construction; the search never has to repair it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from routeplanner.model import WEEKDAYS, Account, FrequencyKind, UnassignedReason, VisitRule
from routeplanner.scheduling.calendar import ABSENT, blocked_text

PREFERRED_MISS_COST = 2.0
"""Combination cost (in days of target deviation) of a visit not on a preferred weekday."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Occurrence:
    """The ``index``-th visit due in the horizon: ideally on ``target``, allowed in the window."""

    index: int
    target: date
    earliest: date
    latest: date


@dataclass(frozen=True, slots=True, kw_only=True)
class FrequencyIssue:
    """Why an account's frequency cannot be met as asked; shown to the manager verbatim."""

    account_id: str
    reason: UnassignedReason
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitOptions:
    """Occurrences and the day combinations that serve them (``combos[k][i]`` = day of visit i).

    ``strict`` is False when no combination keeps the gaps and a relaxed one was used; combinations
    may then be shorter than ``occurrences`` (the rest cannot be placed at all).
    """

    account_id: str
    occurrences: tuple[Occurrence, ...]
    combos: tuple[tuple[date, ...], ...]
    costs: tuple[float, ...]
    strict: bool = True
    issue: FrequencyIssue | None = None


def due_occurrences(
    rule: VisitRule, last_visit: date | None, start: date, end: date
) -> tuple[Occurrence, ...]:
    """The visits due between ``start`` and ``end`` (inclusive), following the last visit.

    Without history the first visit may fall anywhere in the first nominal interval. An overdue
    account (last visit + max gap before ``start``) gets its first visit in the first interval,
    targeted at ``start``: it is late already.
    """
    n = rule.nominal_gap_days
    lo, hi = n - rule.min_gap_days, rule.max_gap_days - n
    if last_visit is None:
        first = Occurrence(
            index=0,
            target=start + timedelta(days=(n - 1) // 2),
            earliest=start,
            latest=min(end, start + timedelta(days=n - 1)),
        )
    elif last_visit + timedelta(days=rule.max_gap_days) < start:
        first = Occurrence(
            index=0,
            target=start,
            earliest=start,
            latest=min(end, start + timedelta(days=max(n - 1, hi))),
        )
    else:
        target = last_visit + timedelta(days=n)
        first = Occurrence(
            index=0,
            target=target,
            earliest=max(start, last_visit + timedelta(days=rule.min_gap_days)),
            latest=min(end, last_visit + timedelta(days=rule.max_gap_days)),
        )
        if first.target > end:
            return ()
        if first.earliest > first.latest:
            return ()
    out = [first]
    target = first.target
    # Later windows are at least half an interval wide each side: the gap bounds are the real
    # constraint, and a chain that drifts early or late (weekends, holidays) must stay possible.
    lo, hi = max(lo, n // 2), max(hi, n // 2)
    while True:
        target += timedelta(days=n)
        if target > end:
            break
        out.append(
            Occurrence(
                index=len(out),
                target=target,
                earliest=max(start, target - timedelta(days=lo)),
                latest=min(end, target + timedelta(days=hi)),
            )
        )
    return tuple(out)


def _combo_cost(account: Account, occ: Sequence[Occurrence], days: Sequence[date]) -> float:
    cost = 0.0
    for o, d in zip(occ, days, strict=False):
        cost += abs((d - o.target).days)
        if account.preferred_weekdays and d.weekday() not in account.preferred_weekdays:
            cost += PREFERRED_MISS_COST
    return cost


def _beam(
    account: Account,
    occ: Sequence[Occurrence],
    allowed: Sequence[date],
    last_visit: date | None,
    min_gap: int,
    max_gap: int,
    width: int,
) -> list[tuple[float, tuple[date, ...]]]:
    partial: list[tuple[float, tuple[date, ...]]] = [(0.0, ())]
    for i, o in enumerate(occ):
        nxt: list[tuple[float, tuple[date, ...]]] = []
        cands = [d for d in allowed if o.earliest <= d <= o.latest]
        for cost, seq in partial:
            prev = seq[-1] if seq else None
            for d in cands:
                if prev is not None and not min_gap <= (d - prev).days <= max_gap:
                    continue
                if (
                    prev is None
                    and last_visit is not None
                    and i == 0
                    and (d - last_visit).days < min_gap
                ):
                    continue
                extra = float(abs((d - o.target).days))
                if account.preferred_weekdays and d.weekday() not in account.preferred_weekdays:
                    extra += PREFERRED_MISS_COST
                nxt.append((cost + extra, (*seq, d)))
        if not nxt:
            return []
        nxt.sort(key=lambda x: x[0])
        partial = _diverse(nxt, width)
    return partial


def _diverse(
    items: list[tuple[float, tuple[date, ...]]], width: int
) -> list[tuple[float, tuple[date, ...]]]:
    """Keep the cheapest per first day, then fill by cost: day choice needs variety."""
    seen: set[date] = set()
    keep: list[tuple[float, tuple[date, ...]]] = []
    rest: list[tuple[float, tuple[date, ...]]] = []
    for item in items:
        first = item[1][0]
        if first not in seen:
            seen.add(first)
            keep.append(item)
        else:
            rest.append(item)
    keep.extend(rest[: max(0, width - len(keep))])
    keep.sort(key=lambda x: x[0])
    return keep[:width] if len(keep) > width else keep


def visit_options(
    account: Account,
    allowed: Sequence[date],
    start: date,
    end: date,
    *,
    max_combos: int = 40,
    beam_width: int = 300,
    blocked: Mapping[date, str] | None = None,
) -> VisitOptions:
    """Occurrences of ``account`` in [start, end] and up to ``max_combos`` day combinations.

    ``allowed`` are the days the rep can visit the account (working, open, not forbidden).
    When no combination keeps the gaps, one relaxed combination (each visit on the allowed day
    nearest its target, once) is returned with ``strict=False`` and an issue explaining why;
    ``blocked`` (day -> cause, see :func:`~routeplanner.scheduling.calendar.blocked_days`)
    lets the issue name an absence or a holiday as the cause.
    """
    rule = account.visit_rule
    occ = due_occurrences(rule, account.last_visit, start, end)
    allowed = sorted(allowed)
    if not occ:
        return VisitOptions(account_id=account.account_id, occurrences=(), combos=(), costs=())
    if not allowed:
        return VisitOptions(
            account_id=account.account_id,
            occurrences=occ,
            combos=(),
            costs=(),
            strict=False,
            issue=FrequencyIssue(
                account_id=account.account_id,
                reason=UnassignedReason.NO_ALLOWED_DAY,
                detail="no day in the horizon on which the rep works while the account is open",
            ),
        )
    found = _beam(
        account, occ, allowed, account.last_visit, rule.min_gap_days, rule.max_gap_days, beam_width
    )
    if found:
        return _strict_options(account, occ, allowed, found, end, max_combos, beam_width)
    return _relaxed_options(account, occ, allowed, blocked or {}, end)


def _strict_options(
    account: Account,
    occ: tuple[Occurrence, ...],
    allowed: Sequence[date],
    found: list[tuple[float, tuple[date, ...]]],
    end: date,
    max_combos: int,
    beam_width: int,
) -> VisitOptions:
    """The cheapest varied chains, preferring those that leave no visit due inside the horizon:
    visits drifting early (a Monday instead of a Wednesday) could otherwise end the chain with
    a gap still open."""
    rule = account.visit_rule

    def closes(chain: tuple[float, tuple[date, ...]]) -> bool:
        return chain[1][-1] + timedelta(days=rule.max_gap_days) > end

    tail_ok = [f for f in found if closes(f)]
    if not tail_ok:
        # Every chain drifted early: one more visit, late in the horizon, closes the gap.
        last_occ = occ[-1]
        extra = Occurrence(
            index=len(occ),
            target=min(end, last_occ.target + timedelta(days=rule.nominal_gap_days)),
            earliest=last_occ.earliest + timedelta(days=rule.min_gap_days),
            latest=end,
        )
        longer = _beam(
            account,
            (*occ, extra),
            allowed,
            account.last_visit,
            rule.min_gap_days,
            rule.max_gap_days,
            beam_width,
        )
        tail_ok = [f for f in longer if closes(f)]
        if tail_ok:
            occ = (*occ, extra)
    best = _diverse(tail_ok or found, max_combos)
    return VisitOptions(
        account_id=account.account_id,
        occurrences=occ,
        combos=tuple(seq for _, seq in best),
        costs=tuple(c for c, _ in best),
    )


def _relaxed_options(
    account: Account,
    occ: tuple[Occurrence, ...],
    allowed: Sequence[date],
    blocked: Mapping[date, str],
    end: date,
) -> VisitOptions:
    """Each visit on the allowed day nearest its target, never closer than the minimum gap
    (too-frequent visits waste the rep's time); a too-long gap is what "impossible" means
    here and is reported."""
    rule = account.visit_rule
    relaxed: list[date] = []
    prev = account.last_visit
    for o in occ:
        free = [d for d in allowed if prev is None or (d - prev).days >= rule.min_gap_days]
        if not free:
            break
        pick = min(free, key=lambda d: abs((d - o.target).days))
        relaxed.append(pick)
        prev = pick
    missing = occ[len(relaxed) :]
    reason, detail = _obstacle(rule, allowed, blocked, account.last_visit, end, missing)
    if len(relaxed) < len(occ):
        detail += f"; {len(occ) - len(relaxed)} of {len(occ)} visits cannot be placed"
    return VisitOptions(
        account_id=account.account_id,
        occurrences=occ,
        combos=(tuple(relaxed),) if relaxed else (),
        costs=(_combo_cost(account, occ, relaxed),) if relaxed else (),
        strict=False,
        issue=FrequencyIssue(
            account_id=account.account_id,
            reason=reason,
            detail=detail,
        ),
    )


def _obstacle(
    rule: VisitRule,
    allowed: Sequence[date],
    blocked: Mapping[date, str],
    last_visit: date | None,
    end: date,
    missing: Sequence[Occurrence] = (),
) -> tuple[UnassignedReason, str]:
    """Name the real obstacle by what fills the days a visit needed (an absence, public
    holidays): in the windows of the visits that cannot be placed, or in stretches without a
    visitable day longer than the max gap (counting from the last visit and up to the
    horizon end); failing that, the weekdays the rep can visit on."""
    weekdays = sorted({d.weekday() for d in allowed})
    names = ", ".join(WEEKDAYS[w] for w in weekdays)
    need = f"{describe_rule(rule)} needs visits {rule.min_gap_days}-{rule.max_gap_days} days apart"
    points = ([last_visit] if last_visit is not None else []) + list(allowed)
    stretches = [(a, b) for a, b in pairwise(points) if (b - a).days > rule.max_gap_days]
    if points and (end - points[-1]).days >= rule.max_gap_days:
        stretches.append((points[-1], end + timedelta(days=1)))
    inside = {d: c for d, c in blocked.items() if any(o.earliest <= d <= o.latest for o in missing)}
    inside.update((d, c) for d, c in blocked.items() if any(a < d < b for a, b in stretches))
    if inside:
        absent = any(c == ABSENT for c in inside.values())
        reason = UnassignedReason.REP_ABSENT if absent else UnassignedReason.PUBLIC_HOLIDAY
        return reason, f"{need}, but {blocked_text(inside)}"
    gaps = [(b - a).days for a, b in pairwise(allowed)]
    widest = max(range(len(gaps)), key=gaps.__getitem__) if gaps else None
    if widest is not None and gaps[widest] > rule.max_gap_days and len(weekdays) > 1:
        a, b = allowed[widest], allowed[widest + 1]
        return (
            UnassignedReason.FREQUENCY_IMPOSSIBLE,
            f"{need}, but there is no visitable day between {a} and {b}",
        )
    return UnassignedReason.FREQUENCY_IMPOSSIBLE, f"{need}, but the rep can visit only on {names}"


def describe_rule(rule: VisitRule) -> str:
    """Rule in words for messages; "2 per week" rather than the model's "2 per 1 weeks"."""
    if rule.kind is FrequencyKind.PER_PERIOD and rule.period_days == 7:
        return f"{rule.count} per week"
    return str(rule)


def gap_ok(rule: VisitRule, a: date, b: date) -> bool:
    """Whether two consecutive visits on ``a`` and ``b`` keep the rule's gap bounds."""
    return rule.min_gap_days <= (b - a).days <= rule.max_gap_days
