"""Calendar feeds over HTTP: the subscription URL, a one-off date-range download, token management.

``/calendar/<token>.ics`` needs no login (calendar apps cannot log in): the token is the secret.
Unknown and revoked tokens both get 404, so the URL does not reveal whether a token ever existed.
Conditional requests (``If-None-Match``) get 304 without a body: most calendar apps poll.
"""

from __future__ import annotations

from datetime import date
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.feeds import TEAM_USER, CalendarFeeds, Feed, feed_urls
from routeplanner.storage import UserRecord, UserRole
from routeplanner.web.auth import CsrfDep, UserDep, allowed_rep
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.services import Services

router = APIRouter()
MEDIA_TYPE = "text/calendar; charset=utf-8"


def get_feeds(
    request: Request, services: Annotated[Services, Depends(get_services)]
) -> CalendarFeeds:
    """One :class:`CalendarFeeds` (and so one feed cache) per app, made on first use."""
    feeds: CalendarFeeds | None = getattr(request.app.state, "calendar_feeds", None)
    if feeds is None:
        feeds = CalendarFeeds(services.store, services.settings)
        request.app.state.calendar_feeds = feeds
    return feeds


def _base_url(request: Request, feeds: CalendarFeeds) -> str:
    return feeds.settings.public_url or str(request.base_url).rstrip("/")


def _check_range(first: date | None, last: date | None) -> None:
    if first is not None and last is not None and last < first:
        raise HTTPException(status_code=422, detail="'to' must not be before 'from'")


def _respond(request: Request, feed: Feed, *, filename: str, attachment: bool) -> Response:
    headers = {
        "ETag": feed.etag,
        "Last-Modified": format_datetime(feed.last_modified, usegmt=True),
        "Cache-Control": "private, max-age=300",
    }
    if _not_modified(request, feed):
        return Response(status_code=304, headers=headers)
    disposition = "attachment" if attachment else "inline"
    headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return Response(content=feed.text, media_type=MEDIA_TYPE, headers=headers)


def _not_modified(request: Request, feed: Feed) -> bool:
    """RFC 9110 13.1: If-None-Match wins; If-Modified-Since counts only without it."""
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
        return feed.etag in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    return moment.tzinfo is not None and feed.last_modified <= moment


@router.get("/calendar/export.ics", include_in_schema=False)
def export_range(
    request: Request,
    user: UserDep,
    feeds: Annotated[CalendarFeeds, Depends(get_feeds)],
    rep: str,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    """One-off download of a rep's visits in a date range (same UIDs as the subscription)."""
    _check_range(first, last)
    rep = allowed_rep(user, rep) or rep
    rep_obj = feeds.store.reps.get(rep)
    if rep_obj is None:
        raise HTTPException(status_code=404, detail=f"no rep {rep!r}")
    feed = feeds.feed(
        [rep],
        name=f"Visits {rep_obj.name}",
        base_url=_base_url(request, feeds),
        first_day=first,
        last_day=last,
    )
    return _respond(request, feed, filename=f"visits-{rep}.ics", attachment=True)


@router.api_route("/calendar/{token}.ics", methods=["GET", "HEAD"], include_in_schema=False)
def subscription(
    request: Request,
    token: str,
    feeds: Annotated[CalendarFeeds, Depends(get_feeds)],
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    """The live feed a calendar app subscribes to; ``from``/``to`` narrow it for a download."""
    _check_range(first, last)
    owner = feeds.owner(token)
    if owner is None:
        raise HTTPException(status_code=404, detail="no such calendar feed")
    feed = feeds.feed(
        owner.rep_ids,
        name=owner.name,
        base_url=_base_url(request, feeds),
        first_day=first,
        last_day=last,
    )
    ranged = first is not None or last is not None
    return _respond(request, feed, filename="visits.ics", attachment=ranged)


def _page(
    request: Request,
    feeds: CalendarFeeds,
    templates: Jinja2Templates,
    user: UserRecord,
    rep: str | None,
    *,
    new_urls: tuple[str, str] | None = None,
    message: str = "",
) -> HTMLResponse:
    rep = allowed_rep(user, rep)
    reps = feeds.store.reps.all()
    if user.role is UserRole.REP:
        reps = [r for r in reps if r.rep_id == rep]
    rep_obj = next((r for r in reps if r.rep_id == rep), reps[0] if reps else None)
    team = feeds.store.users.find(TEAM_USER)
    rep_user = feeds.find_rep_user(rep_obj.rep_id) if rep_obj is not None else None
    context: dict[str, object] = {
        "reps": reps,
        "rep": rep_obj,
        "rep_tokens": feeds.active_tokens(rep_user) if rep_user is not None else 0,
        "team_tokens": feeds.active_tokens(team) if team is not None else 0,
        "new_urls": new_urls,
        "message": message,
    }
    return templates.TemplateResponse(request, "calendar.html", context)


@router.get("/calendar", response_class=HTMLResponse, include_in_schema=False)
def calendar_page(
    request: Request,
    user: UserDep,
    feeds: Annotated[CalendarFeeds, Depends(get_feeds)],
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
    rep: str | None = None,
) -> HTMLResponse:
    """Feed status per rep and team, with rotate/revoke buttons and a date-range download."""
    return _page(request, feeds, templates, user, rep)


@router.post(
    "/calendar/rotate", response_class=HTMLResponse, include_in_schema=False, dependencies=[CsrfDep]
)
def rotate(
    request: Request,
    user: UserDep,
    feeds: Annotated[CalendarFeeds, Depends(get_feeds)],
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
    rep: Annotated[str, Form()] = "",
    team: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """Issue a new feed URL (revoking the old one); shown once, as only its hash is stored."""
    owner = _owner(feeds, user, rep, team=team)
    token = feeds.rotate(owner)
    urls = feed_urls(_base_url(request, feeds), token)
    who = "the team" if team else rep
    message = f"New feed URL for {who}"
    return _page(request, feeds, templates, user, rep or None, new_urls=urls, message=message)


@router.post(
    "/calendar/revoke", response_class=HTMLResponse, include_in_schema=False, dependencies=[CsrfDep]
)
def revoke(
    request: Request,
    user: UserDep,
    feeds: Annotated[CalendarFeeds, Depends(get_feeds)],
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
    rep: Annotated[str, Form()] = "",
    team: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    owner = _owner(feeds, user, rep, team=team)
    count = feeds.revoke(owner)
    who = "the team" if team else rep
    message = f"Revoked {count} feed URL(s) of {who}"
    return _page(request, feeds, templates, user, rep or None, message=message)


def _owner(feeds: CalendarFeeds, user: UserRecord, rep: str, *, team: bool) -> UserRecord:
    """Whose feed a form acts on; a rep may only manage their own, never the team's."""
    if team:
        if user.role is not UserRole.MANAGER:
            raise HTTPException(status_code=403, detail="only managers manage the team feed")
        return feeds.team_user()
    return _rep_user(feeds, allowed_rep(user, rep or None) or rep)


def _rep_user(feeds: CalendarFeeds, rep: str) -> UserRecord:
    try:
        return feeds.user_for_rep(rep)
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
