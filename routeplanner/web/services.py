"""Per-app services (database, road network, snaps, caches), built by ``create_app``, never global.

The road graph and the snaps are loaded lazily and memoised here, so an app without an OSM file
still serves pages, and two apps in one process (two tests) never share state.

The rep's day page is the hot path. :meth:`Services.snapshot` keeps the plan, the accounts and
the reps until the data version says they changed, :meth:`Services.map_svg` keeps drawn maps
keyed on exactly what they show, and :meth:`Services.cached_answer` keeps finished answers
(what each saves is measured in ``benchmarks/RESULTS.md``). The version is re-read at most every
``RP_DAY_CACHE_TTL_S`` seconds, and at once after a commit through this process's store (counted
with :meth:`Store.on_commit`), so only a change made by another process (a second worker, the
CLI) can take up to the TTL to show. Neither visit records nor accounts are part of the version
the answers are kept under: a visit report or an account edit stamps its account
(:meth:`Services.account_stamp`), and answers that show accounts carry the stamp of those
accounts in their key, so an edit or a report forgets only the answers showing that account,
and the snapshot replaces only the accounts that changed. A change that cannot be pinned to
accounts (one added or removed, a rename: a repair's change list may name any account)
moves every stamp. Logged-in users and API tokens are cached under the same rule as the data,
so a password reset or a revoked token ends sessions within the TTL.
``RP_DAY_CACHE_SIZE=0`` turns the caches off.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from routeplanner.errors import RoadNetworkError
from routeplanner.model import Account, Plan, Rep
from routeplanner.roads.graph import RoadGraph
from routeplanner.settings import Settings
from routeplanner.storage.records import Area, Commit, DataVersion
from routeplanner.storage.store import Store
from routeplanner.travel.provider import Snap, TravelTimeProvider

T = TypeVar("T")
MAX_PENDING_ACCOUNTS = 1000
"""Accounts written by this process that the snapshot replaces one by one; more: it reloads."""
_FAILED = object()
"""What waiters for an answer get when its maker failed: they then try themselves."""


@dataclass
class Services:
    """What request handlers need; one instance per application."""

    settings: Settings
    store: Store
    _travel: TravelTimeProvider | None = None
    _graph: RoadGraph | None = None
    _snaps: dict[str, Snap] | None = None
    _snap_key: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _snapshot: Snapshot | None = None
    _maps: OrderedDict[object, str] = field(default_factory=OrderedDict)
    _version: CacheVersion | None = None
    _version_at: float = 0.0
    _version_generation: int = -1
    _answers: OrderedDict[object, object] = field(default_factory=OrderedDict)
    _generation: int = 0
    _rep_writes: int = 0
    _account_writes: int = 0
    _accounts_written: set[str] | None = field(default_factory=set)
    _visit_lock: threading.Lock = field(default_factory=threading.Lock)
    _visits_seen: tuple[int | None, int] | None = None
    _stamps: dict[str, int] = field(default_factory=dict)
    _clock: int = 0
    _floor: int = 0
    _visit_epoch: int = 0
    _shown: dict[tuple[int, str, date | None], frozenset[str]] = field(default_factory=dict)
    _snapshot_lock: threading.Lock = field(default_factory=threading.Lock)
    _making: dict[object, Future[object]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.store.on_commit(self._count_commit)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        return cls(settings=settings, store=Store.open(settings.database_url))

    def _count_commit(self, commit: Commit) -> None:
        """Count this process's commits, so its caches see its own writes without a query
        (and within one tick of the clock, which the data version alone could miss), and note
        the accounts they wrote for the snapshot to replace."""
        with self._lock:
            self._generation += 1
            if Area.REPS in commit.areas:
                self._rep_writes += 1
            if Area.ACCOUNTS not in commit.areas:
                return
            self._account_writes += 1
            pending = self._accounts_written
            if pending is not None and commit.accounts is not None:
                pending.update(commit.accounts)
                if len(pending) <= MAX_PENDING_ACCOUNTS:
                    return
            self._accounts_written = None

    def travel(self) -> TravelTimeProvider:
        """The road network of ``settings.osm_path`` (from the array cache after the first load)."""
        with self._lock:
            if self._travel is None:
                from routeplanner.roads.graph import load_road_graph
                from routeplanner.travel.road import RoadTravel

                path = self.settings.osm_path
                if not path.exists():
                    msg = f"{path}: OSM file not found (set RP_OSM_PATH)"
                    raise RoadNetworkError(msg)
                self._graph = load_road_graph(
                    path, cache_dir=self.settings.cache_dir, model=self.settings.road_model
                )
                self._travel = RoadTravel(self._graph, max_snap_m=self.settings.max_snap_m)
            return self._travel

    def road_graph_loaded(self) -> bool:
        """Whether this process has loaded the road network yet (nothing is loaded here)."""
        return self._travel is not None

    def road_graph(self) -> RoadGraph | None:
        """The loaded graph for map backgrounds, or ``None`` when no road network is available."""
        try:
            self.travel()
        except RoadNetworkError:
            return None
        return self._graph

    def snaps(self, accounts: list[Account], reps: list[Rep]) -> dict[str, Snap]:
        """Snap results keyed ``account:<id>`` / ``rep:<id>``, recomputed when the ids change."""
        key = (tuple(a.account_id for a in accounts), tuple(r.rep_id for r in reps))
        travel = self.travel()
        with self._lock:
            if self._snaps is None or self._snap_key != key:
                points = [(f"account:{a.account_id}", a.location) for a in accounts]
                points += [(f"rep:{r.rep_id}", r.home) for r in reps]
                self._snaps = travel.snap(points).by_id() if points else {}
                self._snap_key = key
            return self._snaps

    def snapshot(self) -> Snapshot:
        """The current plan, accounts and reps; reloaded only what changed since last time."""
        store = self.store
        if self.settings.day_cache_size == 0:
            accounts = store.accounts.all()
            return Snapshot(
                None,
                store.plans.current(),
                {a.account_id: a for a in accounts},
                store.reps.all(),
            )
        version = self.data_version()
        with self._lock:
            old = self._snapshot
        if old is not None and old.version == version:
            return old
        # One thread reloads; the others wait for it rather than load the same rows again.
        with self._snapshot_lock:
            with self._lock:
                old = self._snapshot
            if old is not None and old.version == version:
                return old
            return self._reload_snapshot(old, version)

    def _reload_snapshot(self, old: Snapshot | None, version: CacheVersion) -> Snapshot:
        store = self.store
        plan_id = version.data.current_plan_id
        current = old.current if old is not None else None
        if plan_id is None:
            current = None
        elif current is None or current[0] != plan_id:
            current = (plan_id, store.plans.get(plan_id))
        by_id, changed = self._changed_accounts(old, version)
        if old is not None and old.version is not None and old.version.reps == version.reps:
            reps = old.reps
        else:
            reps = store.reps.all()
        fresh = Snapshot(version, current, by_id, reps)
        # The stamps move with the snapshot that shows the change, never before it: an answer
        # under a new stamp is always made from the new accounts.
        with self._lock:
            self._snapshot = fresh
            if changed is None:
                self._clock += 1
                self._floor = self._clock
                self._stamps.clear()
            for account_id in changed or ():
                self._clock += 1
                self._stamps[account_id] = self._clock
        return fresh

    def _changed_accounts(
        self, old: Snapshot | None, version: CacheVersion
    ) -> tuple[dict[str, Account], Iterable[str] | None]:
        """The accounts as of ``version`` and the ids of those that changed since ``old``
        (``None``: any may have). Only what changed is read: the accounts this process wrote
        and those stamped since ``old``'s newest ``updated_at`` (another process's writes);
        everything is read again when one was added or removed, or this process wrote more
        accounts than it noted."""
        if old is not None and old.version is not None and old.version.accounts == version.accounts:
            return old.accounts, ()
        with self._lock:
            pending, self._accounts_written = self._accounts_written, set()
        known = None if old is None or old.version is None else old.version.data
        if (
            old is not None
            and known is not None
            and known.accounts_updated_at is not None
            and pending is not None
            and known.account_count == version.data.account_count
        ):
            accounts = self.store.accounts
            found = {a.account_id: a for a in accounts.changed_since(known.accounts_updated_at)}
            if missing := sorted(pending - found.keys()):  # written here, stamped earlier
                found |= {a.account_id: a for a in accounts.find(missing)}
            if pending <= found.keys() <= old.accounts.keys():
                changed = {i: a for i, a in found.items() if old.accounts[i] != a}
                renamed = any(old.accounts[i].name != a.name for i, a in changed.items())
                return old.accounts | changed, None if renamed else changed.keys()
        return {a.account_id: a for a in self.store.accounts.all()}, None

    def data_version(self) -> CacheVersion:
        """:meth:`Store.data_version` with this process's write counts, re-read only after a
        commit through this process's store or once ``day_cache_ttl_s`` has passed; a new
        :attr:`CacheVersion.answers` empties the answer cache (its entries could never be hit
        again)."""
        now = time.monotonic()
        with self._lock:
            generation, rep_writes = self._generation, self._rep_writes
            account_writes = self._account_writes
            if (
                self._version is not None
                and generation == self._version_generation
                and now - self._version_at < self.settings.day_cache_ttl_s
            ):
                return self._version
        data = self.store.data_version()
        epoch = self._catch_up_visits(data)
        # Visit records are left out: answers that show them add account_stamp() to their key,
        # so a report from a phone forgets the answers of its account only. The count of
        # withdrawn reports stays in: an undo (rare) forgets every answer.
        data = replace(data, newest_visit_record_id=None, visit_record_count=0)
        version = CacheVersion(data, rep_writes, epoch, account_writes)
        with self._lock:
            if self._version is None or version.answers != self._version.answers:
                self._answers.clear()
            self._version, self._version_at = version, now
            self._version_generation = generation
        return version

    def _catch_up_visits(self, data: DataVersion) -> int:
        """Stamp the accounts of visit records new since the last look (one query for the new
        ones); returns the visit epoch, which moves when the new records cannot be told apart
        (one committed out of id order, or records deleted) and so every answer must go."""
        now = (data.newest_visit_record_id, data.visit_record_count)
        with self._visit_lock:
            seen = self._visits_seen
            if seen is not None and seen != now:
                new = self.store.visits.accounts_since(seen[0])
                with self._lock:
                    if len(new) != now[1] - seen[1]:
                        self._visit_epoch += 1
                    for account_id in new:
                        self._clock += 1
                        self._stamps[account_id] = self._clock
            self._visits_seen = now
            return self._visit_epoch

    def accounts_shown(
        self, current: tuple[int, Plan] | None, rep_id: str | None, day: date | None = None
    ) -> frozenset[str] | None:
        """:meth:`Plan.accounts_on` of the current plan, memoised per plan version (asked on
        every request, on the event loop); ``None`` (every account) without a rep or plan."""
        if current is None or rep_id is None:
            return None
        key = (current[0], rep_id, day)
        with self._lock:
            found = self._shown.get(key)
        if found is None:
            found = current[1].accounts_on(rep_id, day)
            with self._lock:
                if len(self._shown) > max(self.settings.day_cache_size, 64):
                    self._shown.clear()
                self._shown[key] = found
        return found

    def account_stamp(self, account_ids: Iterable[str] | None = None) -> int:
        """Moves whenever a visit of one of ``account_ids`` (``None``: any account) is recorded
        (as of the last :meth:`data_version`) or one of them changes (as of the last
        :meth:`snapshot`): part of the key of every answer that shows accounts or visits."""
        with self._lock:
            if account_ids is None:
                return self._clock
            return max((self._stamps.get(a, self._floor) for a in account_ids), default=self._floor)

    def fresh_snapshot(self) -> Snapshot | None:
        """The cached snapshot if it is still current (no loading: safe on the event loop)."""
        if self.settings.day_cache_size == 0:
            return None
        version = self.data_version()
        with self._lock:
            found = self._snapshot
        return found if found is not None and found.version == version else None

    async def cached_answer_async(self, key: tuple[object, ...], make: Callable[[], T]) -> T:
        """:meth:`cached_answer` for ``async`` handlers: a hit costs no thread hop, a miss
        runs ``make`` on a worker thread (it may load the plan and draw the map)."""
        if self.settings.day_cache_size == 0:
            return await run_in_threadpool(make)
        full = (self.data_version().answers, key)
        with self._lock:
            if full in self._answers:
                self._answers.move_to_end(full)
                return self._answers[full]  # type: ignore[return-value]
            making = self._making.get(full)
            mine: Future[object] = Future()
            if making is None:
                self._making[full] = mine
        if making is not None:  # someone is making this answer: wait for theirs
            # (shielded: a waiter that goes away must not cancel the maker's future)
            made = await asyncio.shield(asyncio.wrap_future(making))
            if made is not _FAILED:
                return made  # type: ignore[return-value]
            return await run_in_threadpool(make)  # theirs failed: fail (or not) on our own
        try:
            value = await run_in_threadpool(make)
        except BaseException:
            self._store(full, _FAILED, mine)
            raise
        self._store(full, value, mine)
        return value

    def _store(
        self, full: tuple[object, ...], value: object, made: Future[object] | None = None
    ) -> None:
        """Keep ``value`` (unless it is ``_FAILED``) and hand it to whoever waits on ``made``."""
        with self._lock:
            if value is not _FAILED:
                self._answers[full] = value
                while len(self._answers) > self.settings.day_cache_size:
                    self._answers.popitem(last=False)
            if made is not None:
                self._making.pop(full, None)
        if made is not None and not made.done():
            made.set_result(value)

    def cached_answer(self, key: tuple[object, ...], make: Callable[[], T]) -> T:
        """A finished answer (rendered page, JSON bytes, a user record) for ``key`` under the
        current data version, or ``make()``'s. ``key`` must hold everything the answer
        depends on besides the stored data: the user, the rep, the day, today's date, and
        :meth:`account_stamp` of the accounts it shows (accounts are not in the version)."""
        if self.settings.day_cache_size == 0:
            return make()
        full = (self.data_version().answers, key)
        with self._lock:
            if full in self._answers:
                self._answers.move_to_end(full)
                return self._answers[full]  # type: ignore[return-value]
        value = make()
        self._store(full, value)
        return value

    def recent_answer(self, key: tuple[object, ...], make: Callable[[], T]) -> T:
        """:meth:`cached_answer` that is also at most ``day_cache_ttl_s`` old: for what the
        data version does not cover (users and API tokens changed by another process; a
        write through this process, such as a password reset, ends the entry at once)."""
        ttl = self.settings.day_cache_ttl_s
        if ttl == 0:
            return make()
        with self._lock:
            generation = self._generation
        fresh = (int(time.monotonic() // ttl), generation)
        return self.cached_answer((*key, *fresh), make)

    def map_svg(self, key: object, draw: Callable[[], str]) -> str:
        """A drawn map from the cache (``key`` must say everything the map shows), or ``draw``."""
        size = self.settings.day_cache_size
        if size == 0:
            return draw()
        with self._lock:
            found = self._maps.get(key)
            if found is not None:
                self._maps.move_to_end(key)
                return found
        svg = draw()
        with self._lock:
            self._maps[key] = svg
            while len(self._maps) > size:
                self._maps.popitem(last=False)
        return svg


@dataclass(frozen=True, slots=True)
class CacheVersion:
    """What the web caches are keyed on: the stored data's version and how many rep and
    account writes this process committed (which catches two edits within one clock tick)."""

    data: DataVersion
    rep_writes: int
    visit_epoch: int = 0
    account_writes: int = 0

    @property
    def accounts(self) -> tuple[object, ...]:
        """Changes whenever the stored accounts may have."""
        return (self.data.account_count, self.data.accounts_updated_at, self.account_writes)

    @property
    def reps(self) -> tuple[object, ...]:
        """Changes whenever the stored reps may have."""
        return (self.data.rep_count, self.data.reps_updated_at, self.rep_writes)

    @property
    def answers(self) -> tuple[object, ...]:
        """What finished answers are kept under: all but the accounts, whose changes reach
        the answers showing them through :meth:`Services.account_stamp`."""
        data = replace(self.data, account_count=0, accounts_updated_at=None)
        return (data, self.rep_writes, self.visit_epoch)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the day page and the day API read, consistent with ``version`` (``None``: caching
    is off)."""

    version: CacheVersion | None
    current: tuple[int, Plan] | None
    accounts: dict[str, Account]
    reps: list[Rep]
