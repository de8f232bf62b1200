"""Calendar feeds over HTTP: the subscription URL, a one-off date-range download, token management.

``/calendar/<token>.ics`` needs no login (calendar apps cannot log in): the token is the secret.
Unknown and revoked tokens both get 404, so the URL does not reveal whether a token ever existed.
Conditional requests (``If-None-Match``) get 304 without a body: most calendar apps poll.
"""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.services import calendar as calendar_service
from routeplanner.services.calendar import CalendarFeeds, ExportParams, Feed, feed_urls
from routeplanner.storage import UserRecord
from routeplanner.web.auth import CsrfDep, UserDep
from routeplanner.web.deps import get_templates
from routeplanner.web.qr import qr_svg
from routeplanner.web.state import app_state

router = APIRouter()
MEDIA_TYPE = "text/calendar; charset=utf-8"


async def get_feeds(request: Request) -> CalendarFeeds:
    """The app's one :class:`CalendarFeeds` (and so one feed cache)."""
    return app_state(request.app).calendar_feeds


FeedsDep = Annotated[CalendarFeeds, Depends(get_feeds)]


def _base_url(request: Request, feeds: CalendarFeeds) -> str:
    return feeds.settings.public_url or str(request.base_url).rstrip("/")


def _range(rep: str, first: str | None, last: str | None) -> ExportParams:
    return ExportParams.from_text({"rep": rep, "from": first, "to": last}, source="query")


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
    feeds: FeedsDep,
    rep: str,
    first: Annotated[str | None, Query(alias="from")] = None,
    last: Annotated[str | None, Query(alias="to")] = None,
) -> Response:
    """One-off download of a rep's visits in a date range (same UIDs as the subscription)."""
    params = _range(rep, first, last)
    found, feed = calendar_service.export_range(
        feeds, params, base_url=_base_url(request, feeds), user=user
    )
    return _respond(request, feed, filename=f"visits-{found.rep_id}.ics", attachment=True)


@router.api_route("/calendar/{token}.ics", methods=["GET", "HEAD"], include_in_schema=False)
def subscription(
    request: Request,
    token: str,
    feeds: FeedsDep,
    first: Annotated[str | None, Query(alias="from")] = None,
    last: Annotated[str | None, Query(alias="to")] = None,
) -> Response:
    """The live feed a calendar app subscribes to; ``from``/``to`` narrow it for a download."""
    params = _range("", first, last)
    feed = calendar_service.subscription(feeds, token, params, base_url=_base_url(request, feeds))
    ranged = params.first is not None or params.last is not None
    return _respond(request, feed, filename="visits.ics", attachment=ranged)


def _page(
    request: Request,
    feeds: CalendarFeeds,
    templates: Jinja2Templates,
    user: UserRecord,
    rep: str | None,
) -> HTMLResponse:
    view = calendar_service.feed_status(feeds, user, rep)
    flash = app_state(request.app).flashes.get(request)
    token = flash.get("token", "")
    urls = feed_urls(_base_url(request, feeds), token) if token else None
    context: dict[str, object] = {
        "reps": view.reps,
        "rep": view.rep,
        "rep_tokens": view.rep_tokens,
        "team_tokens": view.team_tokens,
        "new_urls": urls,
        "qr": qr_svg(urls[1], title="Feed URL as a QR code") if urls else "",
        "message": flash.get("message", ""),
    }
    page = templates.TemplateResponse(request, "calendar.html", context)
    if token:
        page.headers["Cache-Control"] = "no-store"  # the page shows the raw feed URL
    return page


@router.get("/calendar", response_class=HTMLResponse, include_in_schema=False)
def calendar_page(
    request: Request,
    user: UserDep,
    feeds: FeedsDep,
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
    rep: str | None = None,
) -> HTMLResponse:
    """Feed status per rep and team, with rotate/revoke buttons and a date-range download; a
    feed URL just issued is shown (with copy buttons and a QR code) while its flash lives."""
    return _page(request, feeds, templates, user, rep)


def _back(rep: str) -> RedirectResponse:
    """303 to the calendar page of the rep the form was about (POST-redirect-GET)."""
    query = f"?{urlencode({'rep': rep})}" if rep else ""
    return RedirectResponse(f"/calendar{query}", status_code=303)


@router.post("/calendar/rotate", include_in_schema=False, dependencies=[CsrfDep])
def rotate(
    request: Request,
    user: UserDep,
    feeds: FeedsDep,
    rep: Annotated[str, Form()] = "",
    team: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """Issue a new feed URL (revoking the old one). Only its hash is stored, so the raw URL
    goes to a short-lived server-side flash and the redirected page shows it; reloading that
    page shows the same URL and never issues another."""
    issued = calendar_service.rotate_feed(feeds, rep=rep or None, team=team, by=user)
    message = f"New feed URL for {issued.label}"
    app_state(request.app).flashes.put(request, {"token": issued.token, "message": message})
    return _back(rep)


@router.post("/calendar/revoke", include_in_schema=False, dependencies=[CsrfDep])
def revoke(
    request: Request,
    user: UserDep,
    feeds: FeedsDep,
    rep: Annotated[str, Form()] = "",
    team: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    count, label = calendar_service.revoke_feed(feeds, rep=rep or None, team=team, by=user)
    message = f"Revoked {count} feed URL(s) of {label}"
    app_state(request.app).flashes.put(request, {"message": message})
    return _back(rep)
