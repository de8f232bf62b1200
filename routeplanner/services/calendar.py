"""Calendar use cases: feeds of planned visits, their secret URLs, and one-off exports.

The pure parts live in :mod:`routeplanner.io.ics_feed`; this module connects them to storage:

- **Tokens** are attached to *users*, as API tokens are: a rep's feed token belongs to the rep's
  user (the first active rep user with that ``rep_id``; if the rep has none, a user
  ``calendar-<rep_id>`` that cannot log in is created), a team feed token to a manager user
  without a rep (``calendar-team`` by default). A rep user's feed shows that rep's visits only;
  a manager's shows every rep's (a manager attached to a rep: that rep's only). Tokens are
  ``secrets.token_urlsafe(32)`` (256 bits), stored as SHA-256 hashes, so a feed URL can be
  shown only once, when it is issued; rotating revokes the old ones.
- **Reconciling** happens lazily: when a feed is read and the rep's feed state was built from an
  older plan version than the current one, or from older accounts (a name or address changed),
  or visits were reported since this process last looked, the entries are reconciled and stored
  (optimistic: a concurrent request that won is simply re-read). A visit reported missed or
  cancelled leaves the feed at once (STATUS: CANCELLED), before any repair has stored a new
  plan.
- **Cache**: rendered feeds are kept in memory keyed on (reps, plan version, feed versions,
  options, day), so a calendar app polling an unchanged feed costs one small state query.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from routeplanner.errors import NotFoundError, PermissionDeniedError
from routeplanner.io.ics_feed import reconcile_feed, render_feed, visit_events
from routeplanner.model import Rep
from routeplanner.model.feed import FeedEntry, FeedStatus
from routeplanner.model.history import VisitStatus
from routeplanner.services.params import Params
from routeplanner.services.scope import scope_for
from routeplanner.services.users import NO_LOGIN, allowed_rep
from routeplanner.settings import Settings
from routeplanner.storage import DataVersion, Store, TokenKind, UserRecord, UserRole, hash_token

__all__ = ["NO_LOGIN"]

TEAM_USER = "calendar-team"
_CACHE_SIZE = 64


def accounts_basis(version: DataVersion) -> str:
    """What a feed's entries depend on besides the plan: the accounts' count and newest
    change (see :class:`~routeplanner.storage.DataVersion`)."""
    newest = version.accounts_updated_at
    return f"{version.account_count}:{newest.isoformat() if newest else ''}"


def new_feed_token() -> str:
    """256 random bits, URL-safe: far beyond the 128 bits an unguessable URL needs."""
    return secrets.token_urlsafe(32)


def feed_path(token: str) -> str:
    return f"/calendar/{token}.ics"


def feed_urls(base_url: str, token: str) -> tuple[str, str]:
    """The https (or http) URL of a feed and the same as ``webcal://`` for one-click subscribe."""
    url = base_url.rstrip("/") + feed_path(token)
    return url, "webcal://" + url.split("://", 1)[-1]


@dataclass(frozen=True, slots=True)
class Feed:
    """A rendered feed with what HTTP caching needs."""

    text: str
    etag: str
    last_modified: datetime
    events: int


@dataclass(frozen=True, slots=True)
class FeedOwner:
    """Whose feed a token opens: the user and the reps whose visits it shows."""

    user: UserRecord
    rep_ids: tuple[str, ...]
    name: str


class CalendarFeeds:
    """Feeds of one database; one instance per app (web) or command (CLI)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self._clock = clock or (lambda: datetime.now(UTC))
        self._cache: OrderedDict[tuple[object, ...], Feed] = OrderedDict()
        self._reports_seen: dict[str, int | None] = {}
        self._lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    # ------------------------------------------------------------------ tokens

    def find_rep_user(self, rep_id: str) -> UserRecord | None:
        """The user a rep's feed token belongs to: the rep's first active *rep* user, if any.
        Never a manager attached to the rep: a manager's feed token opens the team feed."""
        users = [
            u
            for u in self.store.users.all()
            if u.rep_id == rep_id and u.active and u.role is UserRole.REP
        ]
        return min(users, key=lambda u: u.user_id) if users else None

    def user_for_rep(self, rep_id: str) -> UserRecord:
        """:meth:`find_rep_user`, creating a user without login when the rep has none.

        Raises
        ------
        NotFoundError
            No rep ``rep_id``.
        """
        if self.store.reps.get(rep_id) is None:
            msg = f"no rep {rep_id!r}"
            raise NotFoundError(msg)
        found = self.find_rep_user(rep_id)
        if found is not None:
            return found
        return self.store.users.create(
            f"calendar-{rep_id}", NO_LOGIN, role=UserRole.REP, rep_id=rep_id
        )

    def team_user(self, username: str = TEAM_USER) -> UserRecord:
        """The manager user owning the team feed, created (without login) when missing.

        Raises
        ------
        NotFoundError
            ``username`` is a rep user, who has no team feed.
        """
        user = self.store.users.find(username)
        if user is None:
            return self.store.users.create(username, NO_LOGIN, role=UserRole.ADMIN)
        if not user.is_manager:
            msg = f"user {username!r} is not a manager, so it has no team feed"
            raise NotFoundError(msg)
        if user.rep_id is not None:
            msg = f"user {username!r} is attached to rep {user.rep_id}, so it has no team feed"
            raise NotFoundError(msg)
        return user

    def active_tokens(self, user: UserRecord) -> int:
        return sum(
            1
            for t in self.store.tokens.of_user(user.user_id)
            if t.kind is TokenKind.CALENDAR and t.active
        )

    def revoke(self, user: UserRecord) -> int:
        """Revoke every calendar token of the user; returns how many were active."""
        tokens = [
            t
            for t in self.store.tokens.of_user(user.user_id)
            if t.kind is TokenKind.CALENDAR and t.active
        ]
        for token in tokens:
            self.store.tokens.revoke(token.token_id)
        return len(tokens)

    def rotate(self, user: UserRecord) -> str:
        """Revoke the user's calendar tokens and issue a new one; returns the raw token."""
        self.revoke(user)
        token = new_feed_token()
        self.store.tokens.create(user.user_id, TokenKind.CALENDAR, hash_token(token), label="feed")
        return token

    def owner(self, token: str) -> FeedOwner | None:
        """Whose feed ``token`` opens; ``None`` for an unknown or revoked token."""
        found = self.store.tokens.find(hash_token(token), TokenKind.CALENDAR)
        if found is None:
            return None
        user = found[1]
        reps = self.store.reps.all()
        # A manager attached to a rep may hold a token issued as that rep's feed (before rep
        # feeds went to rep users only): it shows that rep, never the team.
        if user.is_manager and user.rep_id is None:
            seen = scope_for(self.store, user).reps_of(reps)
            return FeedOwner(user, tuple(sorted(r.rep_id for r in seen)), "Team visits")
        rep = next((r for r in reps if r.rep_id == user.rep_id), None)
        if rep is None:
            return None
        return FeedOwner(user, (rep.rep_id,), f"Visits {rep.name}")

    # ------------------------------------------------------------------ feeds

    def sync(self, rep_ids: Sequence[str]) -> None:
        """Reconcile the reps' feed entries with the current plan, the accounts (a renamed or
        moved account must show before the next plan version) and the visits reported missed
        or cancelled, where any of them changed."""
        version = self.store.data_version()
        plan_id, reports = version.current_plan_id, version.newest_visit_record_id
        if plan_id is None:
            return
        basis = accounts_basis(version)
        infos = self.store.feeds.infos(rep_ids)
        stale = [
            r
            for r in rep_ids
            if r not in infos
            or infos[r].plan_id != plan_id
            or infos[r].basis != basis
            or self._reports_seen.get(r, -1) != reports
        ]
        if not stale:
            return
        plan = self.store.plans.get(plan_id)
        horizon = self.store.plans.info(plan_id).horizon
        accounts = {a.account_id: a for a in self.store.accounts.all()}
        called_off = self._called_off(stale, horizon.start, horizon.end)
        now = self._clock()
        keep = timedelta(days=self.settings.calendar_cancelled_days)
        previous = self.store.feeds.entries(stale)
        for rep_id in stale:
            before = [e for e in previous if e.rep_id == rep_id]
            events = visit_events(plan, horizon, accounts, rep_ids={rep_id}, called_off=called_off)
            entries = reconcile_feed(
                before,
                events,
                horizon_start=horizon.start,
                now=now,
                keep_cancelled=keep,
                make_uid=lambda: f"{uuid.uuid4()}@routeplanner",
            )
            info = infos.get(rep_id)
            changed = info is None or info.plan_id != plan_id or info.basis != basis
            if changed or entries != before:
                self.store.feeds.save(
                    rep_id,
                    plan_id,
                    entries,
                    expected_version=0 if info is None else info.version,
                    basis=basis,
                )
            self._reports_seen[rep_id] = reports

    def _called_off(self, rep_ids: Sequence[str], start: date, end: date) -> set[str]:
        """Visit ids of the reps whose latest report is missed or cancelled."""
        wanted = set(rep_ids)
        latest: dict[str, VisitStatus] = {}
        for record in self.store.visits.find(start=start, end=end):
            if record.rep_id in wanted and record.visit_id:
                latest[record.visit_id] = record.status  # in reporting order
        return {v for v, s in latest.items() if s in (VisitStatus.MISSED, VisitStatus.CANCELLED)}

    def feed(
        self,
        rep_ids: Sequence[str],
        *,
        name: str,
        base_url: str,
        first_day: date | None = None,
        last_day: date | None = None,
    ) -> Feed:
        """The reps' feed, from the cache when plan and feed state are unchanged."""
        self.sync(rep_ids)
        current = self.store.plans.current_id()
        infos = self.store.feeds.infos(rep_ids)
        now = self._clock()
        key: tuple[object, ...] = (
            tuple(rep_ids),
            current,
            tuple((r, infos[r].version) for r in rep_ids if r in infos),
            name,
            base_url,
            first_day,
            last_day,
            self.settings.calendar_travel_blocks,
            self.settings.calendar_refresh_minutes,
            self.settings.calendar_cancelled_days,
            now.date(),
        )
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self.cache_hits += 1
                return cached
        entries = self._visible(self.store.feeds.entries(rep_ids), now)
        timezone = self.settings.timezone
        if current is not None:
            timezone = self.store.plans.info(current).horizon.timezone
        text = render_feed(
            entries,
            name=name,
            timezone=timezone,
            refresh_s=self.settings.calendar_refresh_minutes * 60,
            travel_blocks=self.settings.calendar_travel_blocks,
            first_day=first_day,
            last_day=last_day,
            base_url=base_url,
        )
        stamps = [e.modified_at for e in entries] + [i.updated_at for i in infos.values()]
        feed = Feed(
            text=text,
            etag='"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] + '"',
            last_modified=max(stamps, default=now).replace(microsecond=0),
            events=sum(
                1
                for e in entries
                if (first_day is None or e.day >= first_day)
                and (last_day is None or e.day <= last_day)
            ),
        )
        with self._lock:
            self.cache_misses += 1
            self._cache[key] = feed
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return feed

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def _visible(self, entries: list[FeedEntry], now: datetime) -> list[FeedEntry]:
        """Drop cancellations older than the configured while (they were sent long enough)."""
        keep = timedelta(days=self.settings.calendar_cancelled_days)
        return [
            e
            for e in entries
            if e.status is FeedStatus.CONFIRMED
            or (e.cancelled_at is not None and now - e.cancelled_at < keep)
        ]


# -- use cases -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportParams(Params):
    """A one-off download of a rep's visits from ``first`` to ``last`` (inclusive; open
    ends: the whole plan)."""

    TEXT_NAMES: ClassVar[Mapping[str, str]] = {"first": "from", "last": "to"}

    rep: str = ""
    first: date | None = None
    last: date | None = None

    @classmethod
    def rules(cls, values: Mapping[str, Any]) -> list[tuple[str, str]]:
        first, last = values["first"], values["last"]
        if first is not None and last is not None and last < first:
            return [("last", "must not be before the first day")]
        return []


def export_range(
    feeds: CalendarFeeds, params: ExportParams, *, base_url: str, user: UserRecord | None = None
) -> tuple[Rep, Feed]:
    """The rep's planned visits in the range as a feed (same UIDs as the subscription).
    ``user`` is who asks (``None``: the command line).

    Raises
    ------
    PermissionDeniedError
        A rep asking for another rep's visits.
    NotFoundError
        No such rep.
    """
    rep_id = params.rep
    if user is not None:
        rep_id = allowed_rep(user, rep_id, scope_for(feeds.store, user)) or rep_id
    rep = feeds.store.reps.get(rep_id)
    if rep is None:
        msg = f"no rep {rep_id!r}"
        raise NotFoundError(msg)
    feed = feeds.feed(
        [rep.rep_id],
        name=f"Visits {rep.name}",
        base_url=base_url,
        first_day=params.first,
        last_day=params.last,
    )
    return rep, feed


def subscription(
    feeds: CalendarFeeds,
    token: str,
    params: ExportParams,
    *,
    base_url: str,
) -> Feed:
    """The live feed a calendar app subscribes to with ``token`` (no login: the token is the
    secret), narrowed to ``params``' range when one is given.

    Raises
    ------
    NotFoundError
        An unknown or revoked token (alike, so a URL never tells whether a token existed).
    """
    owner = feeds.owner(token)
    if owner is None:
        msg = "no such calendar feed"
        raise NotFoundError(msg)
    return feeds.feed(
        owner.rep_ids,
        name=owner.name,
        base_url=base_url,
        first_day=params.first,
        last_day=params.last,
    )


def feed_user(
    feeds: CalendarFeeds,
    *,
    rep: str | None,
    team: bool = False,
    by: UserRecord | None = None,
    manager: str = TEAM_USER,
) -> UserRecord:
    """Whose feed tokens to manage: the team feed's manager user (``team``), else the rep's
    user (made when the rep has none; a rep user's own rep when ``rep`` is not given). ``by``
    is who asks (``None``: the command line); a rep may manage only their own feed.

    Raises
    ------
    PermissionDeniedError
        A rep managing another rep's feed or the team feed.
    NotFoundError
        No such rep, or ``manager`` is not a manager user.
    """
    if team:
        if by is not None and by.role is not UserRole.ADMIN:
            msg = "only admins manage the team feed (it shows every rep)"
            raise PermissionDeniedError(msg)
        return feeds.team_user(manager)
    asked = rep
    if by is not None:
        asked = allowed_rep(by, rep, scope_for(feeds.store, by))
    return feeds.user_for_rep(asked or rep or "")


def owner_label(feeds: CalendarFeeds, owner: UserRecord) -> str:
    """Whose feed ``owner``'s tokens open, as people say it: "the team" or the rep's name."""
    if owner.is_manager:
        return "the team"
    rep = feeds.store.reps.get(owner.rep_id or "")
    return rep.name if rep is not None else owner.username


@dataclass(frozen=True, slots=True)
class IssuedFeed:
    """A feed URL just issued: the raw token (shown once) and whose feed it opens."""

    token: str
    label: str


def rotate_feed(
    feeds: CalendarFeeds, *, rep: str | None, team: bool, by: UserRecord | None
) -> IssuedFeed:
    """Issue a new feed URL for the rep (or the team), revoking the old ones.

    Raises
    ------
    PermissionDeniedError, NotFoundError
        As :func:`feed_user`.
    """
    owner = feed_user(feeds, rep=rep, team=team, by=by)
    return IssuedFeed(token=feeds.rotate(owner), label=owner_label(feeds, owner))


def revoke_feed(
    feeds: CalendarFeeds, *, rep: str | None, team: bool, by: UserRecord | None
) -> tuple[int, str]:
    """Revoke the rep's (or the team's) feed URLs: how many were active, and whose they were.

    Raises
    ------
    PermissionDeniedError, NotFoundError
        As :func:`feed_user`.
    """
    owner = feed_user(feeds, rep=rep, team=team, by=by)
    return feeds.revoke(owner), owner_label(feeds, owner)


@dataclass(frozen=True, slots=True)
class FeedStatusView:
    """The calendar page: the reps a user may pick, the one shown, and active feed URLs."""

    reps: list[Rep]
    rep: Rep | None
    rep_tokens: int
    team_tokens: int


def feed_status(feeds: CalendarFeeds, user: UserRecord, rep: str | None) -> FeedStatusView:
    """How many feed URLs are active for the rep shown (the asked one, else the first the user
    may see) and for the team."""
    scope = scope_for(feeds.store, user)
    rep = allowed_rep(user, rep, scope)
    reps = scope.reps_of(feeds.store.reps.all())
    if user.role is UserRole.REP:
        reps = [r for r in reps if r.rep_id == rep]
    shown = next((r for r in reps if r.rep_id == rep), reps[0] if reps else None)
    team = feeds.store.users.find(TEAM_USER)
    rep_user = feeds.find_rep_user(shown.rep_id) if shown is not None else None
    return FeedStatusView(
        reps=reps,
        rep=shown,
        rep_tokens=feeds.active_tokens(rep_user) if rep_user is not None else 0,
        team_tokens=feeds.active_tokens(team) if team is not None else 0,
    )
