"""Realignment: the move limit is a hard cap, new/orphaned accounts are placed, locks stay."""

from __future__ import annotations

import dataclasses

import pytest
from territory_factories import make_accounts, make_reps, straight_line_design

from routeplanner.errors import InputError
from routeplanner.territories.design import design_territories
from routeplanner.territories.realign import TIDY_PRICE_S, realign_territories
from routeplanner.travel import HaversineTravel

TRAVEL = HaversineTravel()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("max_moves", [0, 3, 12])
def test_move_limit_never_exceeded(seed: int, max_moves: int) -> None:
    accounts = make_accounts(120, seed)
    reps = make_reps(3, seed, accounts)
    plan = straight_line_design(accounts, reps, max_iterations=2, repair_rounds=1)
    grown = accounts + make_accounts(12, seed + 100, prefix="N")
    options = realign_territories(plan.territories, grown, reps, TRAVEL, max_moves=max_moves)
    assert options
    before = plan.assignment()
    for opt in options:
        assert opt.max_moves is not None
        assert opt.max_moves <= max_moves
        after = {aid: t.rep_id for t in opt.territories for aid in t.account_ids}
        moved = [a for a in before if after[a] != before[a]]
        # the count is recomputed here from the territories, not taken from the option
        assert len(moved) <= opt.max_moves
        assert opt.moved_accounts == len(moved)
        assert set(after) == {a.account_id for a in grown}
        new_moves = [m for m in opt.comparison.moves if m.from_rep is None]
        assert {m.account_id for m in new_moves} == {f"N{i:04d}" for i in range(12)}


def test_zero_moves_only_places_new_accounts_and_fair_option_balances() -> None:
    accounts = make_accounts(150, 7)
    reps = make_reps(3, 7, accounts)
    plan = design_territories(accounts, reps, TRAVEL)
    # Double the frequency of many accounts of one rep: that territory is now overloaded.
    heavy = set(plan.territories[0].account_ids[:30])
    changed = [
        dataclasses.replace(a, visit_duration_s=a.visit_duration_s * 3)
        if a.account_id in heavy
        else a
        for a in accounts
    ]
    options = realign_territories(plan.territories, changed, reps, TRAVEL)
    stable, fair = options[0], options[-1]
    assert stable.max_moves == 0
    assert stable.moved_accounts == 0
    assert fair.max_moves is None
    assert stable.kpis.max_workload_dev_pct > 5.0
    assert fair.kpis.max_workload_dev_pct <= 5.0
    assert fair.comparison.before.max_workload_dev_pct == stable.kpis.max_workload_dev_pct
    # More allowed moves never make the balance worse than fewer (each limit is a relaxation
    # of the tighter one, and balance is priced above travel).
    devs = [max(o.kpis.max_workload_dev_pct, 5.0) for o in options if o.move_penalty_s is None]
    assert devs == sorted(devs, reverse=True)


def test_rep_leaving_orphans_are_forced_moves_and_locked_territory_stays() -> None:
    accounts = make_accounts(120, 8)
    reps = make_reps(4, 8, accounts)
    plan = design_territories(accounts, reps, TRAVEL)
    current = [
        dataclasses.replace(t, locked=True) if t.rep_id == "R0" else t for t in plan.territories
    ]
    remaining = [r for r in reps if r.rep_id != "R3"]
    options = realign_territories(current, accounts, remaining, TRAVEL, max_moves=5)
    orphans = set(next(t for t in plan.territories if t.rep_id == "R3").account_ids)
    for opt in options:
        kept = next(t for t in opt.territories if t.rep_id == "R0")
        assert kept.account_ids == plan.territories[0].account_ids
        assert kept.locked
        forced = {m.account_id for m in opt.comparison.moves if m.forced}
        assert forced == orphans
        assert all(m.from_rep == "R3" for m in opt.comparison.moves if m.forced)
        assert opt.moved_accounts <= 5


def test_rep_joining_gets_a_territory_within_the_cap() -> None:
    accounts = make_accounts(150, 5)
    reps = make_reps(4, 5, accounts)
    plan = design_territories(accounts, reps[:3], TRAVEL)
    options = realign_territories(
        plan.territories, accounts, reps, TRAVEL, move_limits=[0, 10, None]
    )
    newcomer = reps[3].rep_id
    by_limit = {o.max_moves: o for o in options if o.move_penalty_s is None}
    for limit, opt in by_limit.items():
        mine = next(t for t in opt.territories if t.rep_id == newcomer)
        # Every account the newcomer gets is taken from a colleague: a move, within the cap.
        assert len(mine.account_ids) <= opt.moved_accounts
        assert limit is None or opt.moved_accounts <= limit
    assert not by_limit[0].within_tolerance  # nobody may give the newcomer anything
    assert by_limit[0].kpis.max_workload_dev_pct == pytest.approx(100.0)
    fair = by_limit[None]
    assert fair.within_tolerance
    assert fair.kpis.contiguity_violations == 0
    assert next(k for k in fair.kpis.territories if k.rep_id == newcomer).accounts > 0


def test_move_penalty_option_moves_less_than_fair() -> None:
    accounts = make_accounts(150, 9)
    reps = make_reps(3, 9, accounts)
    plan = design_territories(accounts, reps, TRAVEL)
    grown = accounts + make_accounts(30, 109, prefix="N")
    options = realign_territories(
        plan.territories, grown, reps, TRAVEL, move_penalty=10_000.0, move_limits=[None]
    )
    # The fair option, the asked-for price and the tidy option, fewest moves first.
    assert sorted(str(o.move_penalty_s) for o in options) == sorted(
        ["None", "10000.0", str(TIDY_PRICE_S)]
    )
    assert [o.moved_accounts for o in options] == sorted(o.moved_accounts for o in options)
    penalised = next(o for o in options if o.move_penalty_s == 10_000.0)
    fair = options[-1]
    assert fair.move_penalty_s is None
    assert penalised.moved_accounts <= fair.moved_accounts


def test_bad_realign_inputs() -> None:
    accounts = make_accounts(10, 1)
    reps = make_reps(2, 1, accounts)
    plan = design_territories(accounts, reps, TRAVEL)
    twice = [*plan.territories, dataclasses.replace(plan.territories[0], territory_id="DUP")]
    with pytest.raises(InputError) as info:
        realign_territories(twice, accounts, reps, TRAVEL, max_moves=-1)
    messages = [str(p) for p in info.value.problems]
    assert messages[0] == "realign: max_moves: must be 0 or more"
    first = plan.territories[0].account_ids[0]
    assert messages[1] == (
        f"territories: account_id: account {first} is in territories T-R0 and DUP"
    )


def test_fair_option_retries_from_the_centre_start_only_when_enclaves_are_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A home-start fair split with an enclave is replaced by the centre-start one."""
    import numpy as np

    import routeplanner.territories.realign as realign

    accounts = make_accounts(120, 3)
    reps = make_reps(3, 3, accounts)
    plan = straight_line_design(accounts, reps)
    real = realign.optimise
    starts: list[str] = []

    def spoiled(*args: object, **kwargs: object) -> realign.OptimiseResult:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        weights = kwargs["weights"]
        assert isinstance(weights, realign.DesignWeights)
        if kwargs["max_moves"] is not None:
            return result
        if not kwargs["move_penalty_s"]:
            starts.append(weights.start)
        if weights.start == "auto":
            # Every uncapped split from the home start (also the tidy option and the fair
            # option's restart from it) keeps an enclave, so only the centre start can help.
            # Cut one account off its territory: give it to a rep none of its neighbours has.
            assign = result.assign.copy()
            assign[0] = (assign[0] + 1) % 3
            return realign.OptimiseResult(assign, result.iterations, False, result.notes)
        return result

    monkeypatch.setattr(realign, "optimise", spoiled)
    stages: list[str] = []
    options = realign.realign_territories(
        plan.territories, accounts, reps, TRAVEL, progress=lambda s, _f: stages.append(s)
    )
    assert any(s.endswith("again from the centre split") for s in stages)
    fair = options[-1]
    assert fair.max_moves is None
    assert starts[0] == "auto"
    assert starts[-1] == "centre"
    assert starts.count("centre") == 1
    assert fair.kpis.contiguity_violations == 0
    assert fair.kpis.max_workload_dev_pct <= 5.0
    assert np.isfinite(fair.kpis.mean_travel_to_home_s)

    # Without an enclave there is no second solve.
    starts.clear()
    monkeypatch.setattr(realign, "optimise", lambda *a, **k: (starts.append("x"), real(*a, **k))[1])
    options = realign.realign_territories(plan.territories, accounts, reps, TRAVEL)
    assert options[-1].kpis.contiguity_violations == 0
    assert len(starts) == len(options)  # the tidy option has none to retry from here


def test_capped_option_restarts_from_the_tidy_split_when_it_has_enclaves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A capped option left with an enclave is solved again from the tidy option's split."""
    import routeplanner.territories.realign as realign

    accounts = make_accounts(120, 4)
    reps = make_reps(3, 4, accounts)
    plan = straight_line_design(accounts, reps)
    grown = accounts + make_accounts(12, 104, prefix="N")
    real = realign.optimise
    calls: list[tuple[object, object, bool]] = []

    def spoiled(*args: object, **kwargs: object) -> realign.OptimiseResult:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        start = kwargs.get("start")
        calls.append((kwargs["max_moves"], kwargs["move_penalty_s"], start is not None))
        if kwargs["max_moves"] is None or start is not None:
            return result
        # Cut the last new account off: give it to a rep none of its neighbours has.
        assign = result.assign.copy()
        assign[-1] = (assign[-1] + 1) % 3
        return realign.OptimiseResult(assign, result.iterations, False, result.notes)

    monkeypatch.setattr(realign, "optimise", spoiled)
    stages: list[str] = []
    options = realign.realign_territories(
        plan.territories,
        grown,
        reps,
        TRAVEL,
        move_limits=[5, None],
        progress=lambda s, _f: stages.append(s),
    )
    tidy = next(o for o in options if o.move_penalty_s == TIDY_PRICE_S)
    capped = next(o for o in options if o.max_moves == 5)
    assert tidy.moved_accounts <= 5  # it fits the cap, so the capped option may start from it
    assert "at most 5 moves: again from the 3600 s per move split" in stages
    assert calls[0] == (None, TIDY_PRICE_S, False)  # the tidy option is solved first
    assert (5, 0.0, True) in calls
    assert capped.kpis.contiguity_violations == 0
    assert capped.moved_accounts <= 5
    assert capped.kpis.max_workload_dev_pct <= 5.0


def test_optimise_refuses_a_start_over_the_cap() -> None:
    import numpy as np

    from routeplanner.territories.deadline import Deadline
    from routeplanner.territories.design import DesignWeights, optimise
    from routeplanner.territories.metrics import assignment_of
    from routeplanner.territories.workload import build_context

    accounts = make_accounts(40, 2)
    reps = make_reps(2, 2, accounts)
    plan = design_territories(accounts, reps, TRAVEL)
    ctx = build_context(accounts, reps, TRAVEL)
    cur = assignment_of(ctx, plan.territories)
    start = cur.copy()
    start[:3] = 1 - start[:3]
    with pytest.raises(ValueError, match="more accounts than max_moves"):
        optimise(
            ctx,
            fixed={},
            frozen=frozenset(),
            weights=DesignWeights(),
            tolerance=0.05,
            deadline=Deadline.after(60.0),
            current=cur,
            max_moves=2,
            start=np.asarray(start),
        )


def test_fair_option_restarts_from_a_better_option(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fair option that another option beats is polished again from that option's split."""
    import numpy as np

    import routeplanner.territories.realign as realign

    accounts = make_accounts(120, 5)
    reps = make_reps(3, 5, accounts)
    plan = design_territories(accounts, reps, TRAVEL)
    grown = accounts + make_accounts(12, 105, prefix="N")
    real = realign.optimise
    restarts: list[object] = []

    def spoiled(*args: object, **kwargs: object) -> realign.OptimiseResult:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        if kwargs["max_moves"] is not None or kwargs["move_penalty_s"]:
            return result
        if kwargs.get("start") is not None:
            restarts.append(kwargs["start"])
            return result
        # The fair option's own search ends with the territories handed round: still in one
        # piece and balanced, but every rep drives to another's area.
        assign = result.assign.copy()
        return realign.OptimiseResult((assign + 1) % 3, result.iterations, False, result.notes)

    monkeypatch.setattr(realign, "optimise", spoiled)
    stages: list[str] = []
    options = realign.realign_territories(
        plan.territories,
        grown,
        reps,
        TRAVEL,
        move_limits=[0, None],
        progress=lambda s, _f: stages.append(s),
    )
    fair = options[-1]
    assert fair.max_moves is None
    assert fair.move_penalty_s is None
    assert "fair (unlimited moves): again from a better option's split" in stages
    assert len(restarts) == 1
    others = options[:-1]
    assert fair.kpis.contiguity_violations <= min(o.kpis.contiguity_violations for o in others)
    assert fair.kpis.mean_travel_to_home_s <= min(
        o.kpis.mean_travel_to_home_s
        for o in others
        if o.kpis.contiguity_violations == fair.kpis.contiguity_violations
    )
    assert fair.kpis.max_workload_dev_pct <= 5.0
    assert np.isfinite(fair.kpis.mean_travel_to_home_s)


def test_tidy_option_starts_again_from_the_unmoved_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tidy split that moved accounts it need not have is replaced by the one polished
    from the 0-move option's split (new accounts placed, nothing moved)."""
    import numpy as np

    import routeplanner.territories.realign as realign

    accounts = make_accounts(120, 4)
    reps = make_reps(3, 4, accounts)
    plan = straight_line_design(accounts, reps)
    grown = accounts + make_accounts(12, 104, prefix="N")
    real = realign.optimise
    unmoved: list[np.ndarray] = []
    tidy_starts: list[np.ndarray | None] = []

    def spoiled(*args: object, **kwargs: object) -> realign.OptimiseResult:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        start = kwargs.get("start")
        if kwargs["max_moves"] == 0 and not kwargs["move_penalty_s"]:
            unmoved.append(result.assign)
        if kwargs["move_penalty_s"] != realign.TIDY_PRICE_S:
            return result
        tidy_starts.append(None if start is None else np.asarray(start))
        if start is not None:
            return result
        # The first tidy split hands 15 existing accounts to another rep for nothing.
        current = np.asarray(kwargs["current"])
        assign = result.assign.copy()
        for k in np.flatnonzero(current >= 0)[:15]:
            assign[k] = (current[k] + 1) % 3
        return realign.OptimiseResult(assign, result.iterations, False, result.notes)

    monkeypatch.setattr(realign, "optimise", spoiled)
    options = realign.realign_territories(plan.territories, grown, reps, TRAVEL)
    tidy = next(o for o in options if o.label == realign.TIDY_LABEL)
    assert len(tidy_starts) == 2
    assert tidy_starts[0] is None
    assert len(unmoved) == 1
    assert np.array_equal(tidy_starts[1], unmoved[0])
    assert tidy.moved_accounts < 15
    assert tidy.kpis.contiguity_violations == 0
    assert tidy.kpis.max_workload_dev_pct <= 5.0


def test_large_fair_option_also_tries_the_centre_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the one-shot contiguity MIP's size the fair option is solved from the centre
    start too, as a design of that size is, even with no enclave left; the better is kept."""
    import routeplanner.territories.problem as problem_module
    import routeplanner.territories.realign as realign

    accounts = make_accounts(120, 3)
    reps = make_reps(3, 3, accounts)
    plan = straight_line_design(accounts, reps)
    stages: list[str] = []
    monkeypatch.setattr(problem_module, "CONTIGUOUS_FULL", 10)
    options = realign.realign_territories(
        plan.territories, accounts, reps, TRAVEL, progress=lambda s, _f: stages.append(s)
    )
    assert any(s.endswith("again from the centre split") for s in stages)
    fair = options[-1]
    assert fair.max_moves is None
    assert fair.kpis.contiguity_violations == 0
    assert fair.kpis.max_workload_dev_pct <= 5.0
