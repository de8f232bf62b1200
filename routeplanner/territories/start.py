"""The first phases of a design: balanced splits, and for a centre start their medoid updates
and fragment repairs, until one split is chosen.

Each phase is ``(problem, split, deadline) -> split`` (see :mod:`~.problem`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from routeplanner.territories.assign import AssignResult, solve_assignment
from routeplanner.territories.contiguity import (
    Fragment,
    count_violations,
    fragments,
    neighbour_disagreement,
    repair_contiguity,
)
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.problem import (
    Candidate,
    DesignProblem,
    FloatArray,
    IntArray,
    Split,
    candidate,
)

SOLVES_SHARE = 0.4
"""Share of the job the medoid updates may use after the first solve: the later phases need
the rest, and the updates converge in a few solves when the machine keeps up."""
ROUNDS_SHARE = 0.3
"""Share of what is left for the fragment repair rounds of a centre start (a safety net too)."""
SMALL_FRAGMENT = 5
"""Largest fragment the centre start's local repair hands over: moving a big piece shifts so
much load that the rebalancing drags accounts far from home."""
NO_SPLIT = "no assignment satisfies the move limit with the given locks"
BAND_MISSED = "the balance band could not be met (locks or move limit); closest split kept"


def balanced_solves(problem: DesignProblem, split: Split, deadline: Deadline) -> Split:
    """The balanced split; for a centre start re-priced around each territory's medoid
    (k-medians style) until the split repeats or ``max_iterations`` solves."""
    share = problem.weights.centre if problem.centre_start else 0.0
    solves = problem.max_iterations if share > 0 else 1
    budget = deadline.share(SOLVES_SHARE)
    steps = problem.max_iterations + problem.repair_rounds
    cost = split.mixed_cost
    found = list(split.candidates)
    optimal, iterations = split.optimal, split.iterations
    previous: IntArray | None = None
    for it in range(solves):
        if it > 0 and budget.expired():
            break
        problem.report(f"balanced assignment, iteration {it + 1}", it / steps)
        res = solve_balanced(problem, cost, problem.fixed, budget if it else deadline)
        if res is None:
            break
        iterations += 1
        optimal = optimal and res.optimal
        found.append(candidate(problem, res.assign, res.slack))
        if previous is not None and np.array_equal(previous, res.assign):
            break
        previous = res.assign
        cost = centre_mixed_cost(problem, res.assign, share)
    if not found:
        return replace(split, optimal=False, iterations=iterations, notes=(*split.notes, NO_SPLIT))
    return replace(
        split,
        assign=found[-1].assign,
        mixed_cost=cost,
        candidates=tuple(found),
        optimal=optimal,
        iterations=iterations,
    )


def fragment_rounds(problem: DesignProblem, split: Split, deadline: Deadline) -> Split:
    """Pin each fragment to the territory most of its road neighbours are in and solve again.

    For a centre start only: with home prices a re-solve recreates the fragments it pinned.
    """
    budget = deadline.share(ROUNDS_SHARE)
    state = _choose(problem, split.candidates)[0].assign
    fix = dict(problem.fixed)
    found = list(split.candidates)
    optimal, iterations = split.optimal, split.iterations
    for r in range(problem.repair_rounds):
        frags = fragments(problem.graph, state, problem.balance)
        if not frags or budget.expired():
            break
        steps = problem.max_iterations + problem.repair_rounds
        problem.report(f"contiguity repair, round {r + 1}", (problem.max_iterations + r) / steps)
        if not _pin_fragments(problem, state, frags, fix):
            break
        disagree = neighbour_disagreement(problem.graph, state, problem.n_reps)
        weight = problem.weights.contiguity * problem.centre_scale
        res = solve_balanced(problem, split.mixed_cost + weight * disagree, fix, budget)
        if res is None:
            break
        iterations += 1
        optimal = optimal and res.optimal
        found.append(candidate(problem, res.assign, res.slack))
        state = res.assign
    return replace(split, candidates=tuple(found), optimal=optimal, iterations=iterations)


def choose_split(problem: DesignProblem, split: Split, _deadline: Deadline) -> Split:
    """Keep the candidate with the fewest enclaves among the fairest, within the compactness
    slack of the cheapest; note it when even that one misses the band."""
    best, travel_limit = _choose(problem, split.candidates)
    notes = split.notes if best.band_miss == 0 else (*split.notes, BAND_MISSED)
    return replace(
        split,
        assign=best.assign,
        candidates=(best,),
        band_met=best.band_miss == 0,
        travel_limit=travel_limit,
        notes=notes,
    )


def local_repair(problem: DesignProblem, split: Split, _deadline: Deadline) -> Split:
    """Small fragments to their neighbours, then border moves back into the band (centre start).

    Kept only when it stays in the tolerance, has fewer enclaves and stays within the
    compactness slack ``choose_split`` allowed.
    """
    lower, upper = problem.repair_band
    repaired = repair_contiguity(
        problem.graph,
        split.assign,
        problem.balance,
        lower,
        upper,
        problem.base_cost,
        fixed=problem.fixed_set,
        current=problem.current,
        max_moves=problem.max_moves,
        max_fragment=SMALL_FRAGMENT,
        allowed=problem.allowed,
    )
    load = np.bincount(repaired, weights=problem.balance, minlength=problem.n_reps)
    target = problem.target
    dev = float(np.max(np.abs(load / target - 1.0))) if np.all(target > 0) else 0.0
    enclaves = count_violations(problem.graph, repaired, problem.balance)
    before = split.candidates[0].enclaves if split.candidates else enclaves
    if (
        dev <= problem.tolerance
        and enclaves < before
        and problem.travel(repaired) <= split.travel_limit
    ):
        return replace(split, assign=repaired)
    return split


def solve_balanced(
    problem: DesignProblem, cost: FloatArray, fix: Mapping[int, int], deadline: Deadline
) -> AssignResult | None:
    """One balanced solve on ``cost`` with ``fix`` pinned; None when the pins alone already
    move more accounts than the cap allows."""
    cur, cap = problem.current, problem.max_moves
    if cur is not None and cap is not None:
        forced = sum(1 for k, j in fix.items() if cur[k] >= 0 and cur[k] != j)
        if forced > cap:
            return None
    lower, upper = problem.solve_band
    return solve_assignment(
        cost,
        problem.balance,
        lower,
        upper,
        fixed=fix,
        current=cur,
        max_moves=cap,
        move_penalty=problem.move_penalty_s,
        time_limit_s=problem.solve_limit_s,
        allowed=problem.allowed,
        deadline=deadline,
    )


def centre_mixed_cost(problem: DesignProblem, assign: IntArray, share: float) -> FloatArray:
    """The base cost mixed with time from each territory's medoid (its road centre)."""
    centres = medoids(problem.account_s, assign, problem.n_reps)
    if problem.use_graph:
        found = dijkstra(problem.graph, directed=False, indices=centres)
        centre_cost = np.asarray(found, dtype=np.float64).T
    else:
        centre_cost = problem.account_s[:, centres]
    cost = (1.0 - share) * problem.base_cost + share * centre_cost
    if problem.weights.contiguity > 0:
        disagree = neighbour_disagreement(problem.graph, assign, problem.n_reps)
        cost = cost + problem.weights.contiguity * problem.centre_scale * disagree
    return np.asarray(cost, dtype=np.float64)


def medoids(dist: FloatArray, assign: IntArray, m: int) -> IntArray:
    """Per territory the member with the least total road time to the other members."""
    centres = np.zeros(m, dtype=np.int64)
    for j in range(m):
        members = np.nonzero(assign == j)[0]
        if len(members) == 0:
            continue
        sub = dist[np.ix_(members, members)]
        centres[j] = members[int(np.argmin(sub.sum(axis=1)))]
    return centres


def _choose(problem: DesignProblem, found: Sequence[Candidate]) -> tuple[Candidate, float]:
    """The candidate ``choose_split`` keeps, and the travel it allowed."""
    least_miss = min(c.band_miss for c in found)
    fair = [c for c in found if c.band_miss <= least_miss]
    limit = min(c.travel for c in fair) * (1.0 + problem.weights.compactness_slack)
    best = min((c for c in fair if c.travel <= limit), key=lambda c: (c.enclaves, c.travel))
    return best, limit


def _pin_fragments(
    problem: DesignProblem, assign: IntArray, frags: Sequence[Fragment], fix: dict[int, int]
) -> bool:
    """Pin (in ``fix``) every unlocked fragment to its neighbour territory; True if any was."""
    changed = False
    for frag in frags:
        members = list(frag.members)
        if any(k in problem.fixed for k in members):
            continue
        target_rep = neighbour_territory(problem.graph, assign, members)
        if target_rep is None or not problem.allowed[members, target_rep].all():
            continue
        for k in members:
            fix[k] = target_rep
        changed = True
    return changed


def neighbour_territory(graph: csr_matrix, assign: IntArray, members: Sequence[int]) -> int | None:
    """The territory owning most road neighbours of a fragment (outside the fragment)."""
    inside = set(members)
    own = int(assign[members[0]])
    counts: dict[int, int] = {}
    for k in members:
        for nb in graph.indices[graph.indptr[k] : graph.indptr[k + 1]]:
            if int(nb) in inside:
                continue
            rep = int(assign[nb])
            if rep != own:
                counts[rep] = counts.get(rep, 0) + 1
    if not counts:
        return None
    return max(sorted(counts), key=lambda r: counts[r])
