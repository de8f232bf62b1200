"""Regions of an organisation: groups of whole reps with the workload they can carry.

A design at organisation scale (see :mod:`~.organisation`) first splits the accounts into
regions, each a group of reps and about as much workload as their capacity share, then designs
each region's territories as an independent job with plain inputs and outputs. A region job
needs only its own road-time matrix (a region of 1,000 accounts: 1,000 searches), so the work
grows with the accounts, not with their square, and jobs can run side by side.

The split is a recursive bisection: the reps are halved along the main axis of where the work
lies (by their homes' position on it) and the accounts cut on the same axis where the running
workload reaches the first half's capacity share, in order of distance along the road-cell
network from the axis's low end (so the first half is one piece). The workload the cut
balances prices per-visit travel from straight-line gaps, fitted to a sample of road times;
every region then gets real road times in its job. Pieces of a region that the road-cell
graph does not join to its main piece go to the region they touch most, so every region is
one piece on the road network. Last, accounts on region borders move from regions over their
capacity share to neighbours under it (:mod:`~.region_balance`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol, Self, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from routeplanner.model.account import Account
from routeplanner.model.rep import Rep
from routeplanner.territories.bridging import restricted_accounts
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.problem import DesignWeights
from routeplanner.territories.region_balance import rebalance_regions

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

REGION_REPS = 10
"""Most reps in one region: a region of 10 reps and ~1,000 accounts is a design the single path
does well in tens of seconds, and small enough that its matrix costs little."""
REGION_MIN_ACCOUNTS = 4000
"""Fewest accounts for which a design goes through regions (with at least twice
``REGION_REPS`` reps): below it one design over all accounts is better and fast enough."""
EARTH_M_PER_DEG = 111_320.0
CUT_SEARCH_STEPS = 30
"""Bisection steps for a cut that holds its share once cut-off pieces are enclosed."""
CUT_TOLERANCE = 1e-3
"""Miss of a cut's share (relative) at which the search stops: one account weighs more."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionSettings:
    """When a design goes through regions and how big they are.

    ``min_accounts``: fewest accounts for the region path; ``reps_per_region``: most reps in a
    region (the path also needs at least twice as many reps); ``parallel``: region jobs the
    mapper runs at once, which sets each job's share of the time.
    """

    min_accounts: int = REGION_MIN_ACCOUNTS
    reps_per_region: int = REGION_REPS
    parallel: int = 1

    def __post_init__(self) -> None:
        if self.min_accounts < 1 or self.reps_per_region < 1 or self.parallel < 1:
            msg = "region settings must be at least 1"
            raise ValueError(msg)

    def applies(self, n_accounts: int, n_reps: int) -> bool:
        return n_accounts >= self.min_accounts and n_reps >= 2 * self.reps_per_region


QUALIFIED_FILL = 0.5
"""Most of its qualified reps' capacity share that accounts needing a qualification may fill
in a region before one stranded elsewhere goes to a further region: a qualified rep must
take every such account of its region, and they lie scattered over it."""


def place_qualified(
    account_region: IntArray,
    rep_region: IntArray,
    allowed: npt.NDArray[np.bool_],
    positions: tuple[FloatArray, FloatArray],
    loads: tuple[FloatArray, FloatArray],
    *,
    closed: frozenset[int] = frozenset(),
) -> int:
    """Move (in place) every account whose region has no rep it may go to (``allowed``, reps
    in ``closed`` taking nobody) to a region with one: the nearest (by its qualified reps'
    homes) whose accounts needing a qualification stay within ``QUALIFIED_FILL`` of those
    reps' capacity share, else the least filled. Returns how many moved.

    Regions are cut by place, so a rare qualification can leave a region without a rep who
    holds it. ``positions``: accounts' and homes' plane positions; ``loads``: each account's
    balance and each rep's capacity. Accounts in no region (``-1``) and accounts no rep may
    take stay where they are.
    """
    xy, home_xy = positions
    balance, capacity = loads
    open_rep = np.ones(len(rep_region), dtype=bool)
    open_rep[sorted(closed)] = False
    ok = allowed & open_rep[None, :]
    here = ok & (rep_region[None, :] == account_region[:, None])
    placed = account_region >= 0
    stranded = np.flatnonzero(placed & ok.any(axis=1) & ~here.any(axis=1))
    if len(stranded) == 0:
        return 0
    share = capacity / (float(capacity[open_rep].sum()) or 1.0) * float(balance[placed].sum())
    restricted = placed & restricted_accounts(allowed)
    count = int(rep_region.max()) + 1
    filled = np.bincount(account_region[restricted], weights=balance[restricted], minlength=count)
    for i in stranded:
        reps = np.flatnonzero(ok[i])
        regions = rep_region[reps]
        room = np.bincount(regions, weights=share[reps], minlength=count)
        gap = np.full(count, np.inf)
        np.minimum.at(gap, regions, np.hypot(*(home_xy[reps] - xy[i]).T))
        fill = (filled + balance[i]) / np.maximum(room, 1e-12)
        fits = np.flatnonzero((room > 0) & (fill <= QUALIFIED_FILL))
        to = (
            fits[np.argmin(gap[fits])]
            if len(fits)
            else int(np.argmin(np.where(room > 0, fill, np.inf)))
        )
        filled[account_region[i]] -= balance[i]
        account_region[i] = to
        filled[to] += balance[i]
    return len(stranded)


def qualified_regions(
    account_region: IntArray,
    rep_region: IntArray,
    allowed: npt.NDArray[np.bool_],
    positions: tuple[FloatArray, FloatArray],
    graph: csr_matrix,
    loads: tuple[FloatArray, FloatArray],
    held: Mapping[int, int],
    *,
    closed: frozenset[int] = frozenset(),
) -> None:
    """Every account in a region with a rep it may go to (:func:`place_qualified`), then, when
    some moved, the regions brought back to their reps' capacity share around them
    (:func:`to_capacity_share` on ``graph``), every account needing a qualification held
    with the ``held`` ones; in place."""
    if place_qualified(account_region, rep_region, allowed, positions, loads, closed=closed):
        restricted = np.flatnonzero(restricted_accounts(allowed)).tolist()
        held = {**held, **dict.fromkeys(restricted, 0)}
        to_capacity_share(account_region, rep_region, graph, loads, held)


def to_capacity_share(
    account_region: IntArray,
    rep_region: IntArray,
    graph: csr_matrix,
    loads: tuple[FloatArray, FloatArray],
    held: Mapping[int, int],
) -> None:
    """Border accounts but ``held`` ones moved (in place) until each region holds its reps'
    capacity share of the balance (:func:`~.region_balance.rebalance_regions`). ``loads``:
    each account's balance and each rep's capacity."""
    balance, capacity = loads
    room = np.bincount(rep_region, weights=capacity, minlength=int(rep_region.max()) + 1)
    if room.sum() > 0:
        rebalance_regions(account_region, graph, balance, room / room.sum(), held)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionReach:
    """What a region job (a design's or a realignment's) needs to measure the organisation's
    rule (:mod:`~.org_graph`) for its accounts, as plain data."""

    road_pairs: tuple[tuple[int, int], ...]
    """Pairs of the job's accounts (job positions) whose road cells touch."""
    halo: tuple[Account, ...]
    """Accounts of other regions among the candidates of the job's accounts: the job's road
    times reach them too."""
    columns: tuple[int, ...]
    """Organisation index of each of the job's accounts, then of each halo account."""
    candidates: tuple[tuple[int, ...], ...]
    """Each job account's candidates for road neighbours, as positions in ``columns``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionJob:
    """One region's design: plain data only, so any process or machine can run it."""

    region: int
    accounts: tuple[Account, ...]
    reps: tuple[Rep, ...]
    horizon_days: int
    start: date | None
    tolerance: float
    weights: DesignWeights
    locked: tuple[tuple[str, str], ...]
    time_limit_s: float
    travel_estimate_s: tuple[float, ...]
    """Per-visit travel of each account as the organisation guessed it (job order)."""
    reach: RegionReach

    def with_time_limit(self, seconds: float) -> Self:
        return replace(self, time_limit_s=seconds)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionResult:
    """What a region job found: the rep of each of its accounts (job order), the travel one
    visit of each costs, each account's pairs with its road neighbours (organisation
    indices, neighbours in other regions too), both by the organisation's rule
    (:mod:`~.org_graph`), and the notes of its design. ``measured`` is false when the job had
    no road times: its travel is the organisation's guess and it has no pairs."""

    region: int
    rep_ids: tuple[str, ...]
    travel_estimate_s: tuple[float, ...]
    neighbour_pairs: tuple[tuple[int, int], ...]
    notes: tuple[str, ...]
    measured: bool


RegionRunner = Callable[[RegionJob], RegionResult]


class TimedJob(Protocol):
    """A region job (a design's or a realignment's): it knows its time and can be given
    another."""

    @property
    def time_limit_s(self) -> float: ...

    def with_time_limit(self, seconds: float) -> Self: ...


JobT = TypeVar("JobT", bound=TimedJob)
ResultT = TypeVar("ResultT")


class RegionMapper(Protocol):
    """Runs region jobs and returns their results in job order, each job within its
    ``time_limit_s`` (default: :func:`run_in_turn`). A mapper that runs them elsewhere (the
    Ray mapper) runs each job's own kind of work and ignores ``run``."""

    def __call__(
        self, run: Callable[[JobT], ResultT], jobs: Sequence[JobT], /
    ) -> Sequence[ResultT]: ...


def run_in_turn(
    run: Callable[[JobT], ResultT], jobs: Sequence[JobT], deadline: Deadline
) -> list[ResultT]:
    """What runs region jobs when no mapper is given: one after the other in this process,
    each with an equal share of what is left of ``deadline`` when it starts, so a job that ends
    early leaves its time to the next and one that runs over takes it from them, never from the
    border polish after ``deadline``.
    """
    results = []
    for k, job in enumerate(jobs):
        share = deadline.remaining() / (len(jobs) - k)
        results.append(run(job.with_time_limit(share)))
    return results


def local_xy(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """``(n, 2)`` positions in metres on a plane through the points' mean latitude."""
    scale = np.cos(np.radians(float(np.mean(lat)))) if len(lat) else 1.0
    return np.column_stack([lat * EARTH_M_PER_DEG, lon * EARTH_M_PER_DEG * scale])


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionSplit:
    """Region of every account and of every rep (indices into the organisation's lists);
    ``-1`` for the accounts and reps of locked territories, which no region job designs."""

    account_region: IntArray
    rep_region: IntArray

    @property
    def count(self) -> int:
        return int(self.rep_region.max()) + 1 if len(self.rep_region) else 0

    def members(self, region: int) -> tuple[IntArray, IntArray]:
        """Account and rep indices of ``region``, in organisation order."""
        return (
            np.flatnonzero(self.account_region == region),
            np.flatnonzero(self.rep_region == region),
        )


def split_regions(
    xy: FloatArray,
    balance: FloatArray,
    home_xy: FloatArray,
    capacity: FloatArray,
    *,
    reps_per_region: int,
    road_pairs: IntArray,
    locks: Mapping[int, int] | None = None,
) -> RegionSplit:
    """Bisect accounts and reps into regions of at most ``reps_per_region`` reps.

    ``road_pairs`` (``(p, 2)`` account pairs whose road cells touch) is the network the
    regions are cut on: each first half is a ball around an end of the region's main axis
    in distance along it, so one piece; a piece of a second half that it leaves cut off goes
    to the region it touches most. ``locks`` (account -> rep index) put an account in its
    rep's region. The same inputs give the same regions.
    """
    n = len(xy)
    graph = _pair_graph(road_pairs, xy)
    pending = [(np.arange(n), np.arange(len(home_xy)))]
    regions: list[tuple[IntArray, IntArray]] = []
    while pending:
        accounts, reps = pending.pop()
        if len(reps) <= reps_per_region or len(accounts) < 2:
            regions.append((accounts, reps))
            continue
        halves = _bisect(xy, balance, home_xy, capacity, graph, accounts, reps, locks or {})
        pending.extend(halves)
    regions.sort(key=lambda r: int(r[1].min()))
    account_region = np.zeros(n, dtype=np.int64)
    rep_region = np.zeros(len(home_xy), dtype=np.int64)
    for k, (accounts, reps) in enumerate(regions):
        account_region[accounts] = k
        rep_region[reps] = k
    _join_pieces(account_region, graph, balance, locks or {})
    to_capacity_share(account_region, rep_region, graph, (balance, capacity), locks or {})
    return RegionSplit(account_region=account_region, rep_region=rep_region)


def _pair_graph(pairs: IntArray, xy: FloatArray) -> csr_matrix:
    """Symmetric graph of the pairs weighted by straight-line metres (at least 1 m)."""
    n = len(xy)
    length = np.maximum(np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T), 1.0)
    graph = csr_matrix(coo_matrix((length, (pairs[:, 0], pairs[:, 1])), shape=(n, n)))
    return csr_matrix(graph.maximum(graph.T))


def _bisect(
    xy: FloatArray,
    balance: FloatArray,
    home_xy: FloatArray,
    capacity: FloatArray,
    graph: csr_matrix,
    accounts: IntArray,
    reps: IntArray,
    locks: Mapping[int, int],
) -> list[tuple[IntArray, IntArray]]:
    """Two halves of a region: the accounts nearest (on the network) to the low end of the
    work's main axis until their workload reaches the first half's capacity share, and the reps
    whose homes lie nearest that end the same way (by the account next to each home), so a
    half's reps live among its accounts."""
    pts, w = xy[accounts], balance[accounts]
    centre = np.average(pts, axis=0, weights=w) if w.sum() > 0 else pts.mean(axis=0)
    spread = (pts - centre).T @ ((pts - centre) * w[:, None])
    axis = np.linalg.eigh(spread)[1][:, -1]
    axis = axis if axis[np.argmax(np.abs(axis))] > 0 else -axis  # one sign for one input
    sub = graph[accounts][:, accounts]
    seed = int(np.argmin((pts - centre) @ axis))
    reach = np.asarray(dijkstra(sub, directed=False, indices=seed), dtype=np.float64)
    # Accounts the network does not join to this region come last, in order along the axis.
    far = float(np.max(reach[np.isfinite(reach)], initial=0.0)) + 1.0
    position = np.where(np.isfinite(reach), reach, far + (pts - centre) @ axis)
    _, nearest = cKDTree(pts).query(home_xy[reps])
    next_to_home = np.asarray(nearest, dtype=np.int64)
    along = (home_xy[reps] - centre) @ axis
    outside = np.zeros(len(reps), dtype=bool)
    first, side = reps[: len(reps) // 2], np.zeros(len(accounts), dtype=bool)
    for _ in range(2):
        # Reps whose home the last cut put in the first half go first, the others by reach.
        rep_order = reps[np.lexsort((along, position[next_to_home], outside))]
        first = rep_order[: len(reps) // 2]
        total_cap = float(capacity[reps].sum())
        share = float(capacity[first].sum()) / total_cap if total_cap > 0 else 0.5
        side = _connected_cut(sub, accounts, position, w, share, locks, frozenset(first.tolist()))
        outside = ~side[next_to_home]
    in_first = np.isin(reps, first)
    return [(accounts[~side], reps[~in_first]), (accounts[side], reps[in_first])]


def _connected_cut(
    sub: csr_matrix,
    accounts: IntArray,
    position: FloatArray,
    weight: FloatArray,
    share: float,
    locks: Mapping[int, int],
    first_reps: frozenset[int],
) -> npt.NDArray[np.bool_]:
    """The first half as :func:`_cut` takes it, with every piece the cut leaves of the second
    half but its heaviest added to it, and the cut moved until that holds ``share``.

    A ball on the road network can wrap round a hill or a river bend and cut pieces off the
    rest; handed to the region they touch after all cuts, such pieces took a quarter of an
    organisation's workload from one region to another. Enclosing them only adds to the first
    half, so a bisection on the cut's share (never above ``share``) finds the balance.
    """
    second_locked = np.array(
        [int(i) in locks and locks[int(i)] not in first_reps for i in accounts], dtype=bool
    )
    goal = share * float(weight.sum())
    low, high = 0.0, share
    best: tuple[float, npt.NDArray[np.bool_]] | None = None
    for _ in range(CUT_SEARCH_STEPS):
        tried = (low + high) / 2.0 if best is not None else share
        cut = _cut(accounts, position, weight, tried, locks, first_reps)
        side = _enclose(sub, cut, weight, second_locked)
        held = float(weight[side].sum())
        if best is None or abs(held - goal) < best[0]:
            best = (abs(held - goal), side)
        if held > goal:
            high = tried
        else:
            low = tried
        if best[0] <= CUT_TOLERANCE * goal or (held <= goal and tried == share):
            break  # close enough, or nothing enclosed at the full share
    assert best is not None
    return best[1]


def _enclose(
    sub: csr_matrix,
    side: npt.NDArray[np.bool_],
    weight: FloatArray,
    keep_out: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """``side`` with every piece of its complement but the heaviest added to it, except pieces
    holding a ``keep_out`` account (locked to a rep of the other half)."""
    rest = np.flatnonzero(~side)
    if len(rest) < 2:
        return side
    count, labels = connected_components(sub[rest][:, rest], directed=False)
    if count < 2:
        return side
    main = int(np.argmax(np.bincount(labels, weights=weight[rest], minlength=count)))
    pinned = np.bincount(labels, weights=keep_out[rest].astype(np.float64), minlength=count) > 0
    enclosed = (labels != main) & ~pinned[labels]
    grown = side.copy()
    grown[rest[enclosed]] = True
    return grown


def _cut(
    accounts: IntArray,
    position: FloatArray,
    weight: FloatArray,
    share: float,
    locks: Mapping[int, int],
    first_reps: frozenset[int],
) -> npt.NDArray[np.bool_]:
    """Whether each account goes to the first half: locked ones with their rep, the others in
    order of ``position`` until the first half holds ``share`` of the workload."""
    locked_first = np.array([locks.get(int(i), -1) in first_reps for i in accounts])
    locked_any = np.array([int(i) in locks for i in accounts])
    side = locked_first.copy()
    room = share * float(weight.sum()) - float(weight[locked_first].sum())
    free = np.flatnonzero(~locked_any)
    order = free[np.argsort(position[free], kind="stable")]
    running = np.cumsum(weight[order])
    # The account that crosses the share goes where it leaves the smaller miss.
    take = int(np.searchsorted(running, room, side="left"))
    if take < len(order) and running[take] - room < room - (running[take - 1] if take else 0.0):
        take += 1
    side[order[:take]] = True
    return np.asarray(side, dtype=np.bool_)


def _join_pieces(
    region: IntArray, graph: csr_matrix, balance: FloatArray, locks: Mapping[int, int]
) -> None:
    """Hand every piece of a region but its heaviest to the region it touches most (in place);
    pieces holding a locked account stay."""
    n = len(region)
    pinned = np.zeros(n, dtype=bool)
    pinned[list(locks)] = True
    for _ in range(len(np.unique(region))):
        moved = False
        coo = graph.tocoo()
        same = region[coo.row] == region[coo.col]
        inner = coo_matrix((np.ones(int(same.sum())), (coo.row[same], coo.col[same])), (n, n))
        count, labels = connected_components(inner, directed=False)
        weight = np.bincount(labels, weights=balance, minlength=count)
        for r in np.unique(region):
            pieces = np.unique(labels[region == r])
            if len(pieces) < 2:
                continue
            main = pieces[np.argmax(weight[pieces])]
            for piece in pieces[pieces != main]:
                members = np.flatnonzero(labels == piece)
                target = _most_touched(graph, region, members)
                if target is not None and not pinned[members].any():
                    region[members] = target
                    moved = True
        if not moved:
            return


def _most_touched(graph: csr_matrix, region: IntArray, members: IntArray) -> int | None:
    """The other region most road-cell links of ``members`` lead to (lowest on a tie)."""
    own = int(region[members[0]])
    links = graph[members].indices
    other = region[links][region[links] != own]
    if not len(other):
        return None
    return int(np.argmax(np.bincount(other)))
