"""FastAPI application factory: every app gets its own settings, database and road network."""

from __future__ import annotations

import gc
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware

from routeplanner import __version__
from routeplanner.services.calendar import CalendarFeeds
from routeplanner.services.planning import recover_interrupted_plans, stop_workers
from routeplanner.services.repair_queue import RepairQueue
from routeplanner.services.territories import KpiMemo
from routeplanner.settings import Settings
from routeplanner.web.auth import csrf_token, session_user
from routeplanner.web.errors import install_error_handlers
from routeplanner.web.headers import SecurityHeadersMiddleware, add_api_docs
from routeplanner.web.hosts import TrustedHostMiddleware
from routeplanner.web.jobs import DryRuns, PlanningJobs, RepairJobs, TerritoryJobs
from routeplanner.web.limits import BodyLimitMiddleware
from routeplanner.web.ratelimit import LoginLimiter
from routeplanner.web.routes import (
    accounts,
    api,
    api_accounts,
    api_days,
    api_performance,
    api_visits,
    calendar,
    field,
    learning,
    login,
    pages,
    performance,
    plan,
    regions,
    rules,
    territories,
    tokens,
    users,
    visits,
)
from routeplanner.web.services import Services
from routeplanner.web.state import AppState

STATIC_DIR = Path(__file__).resolve().parent / "static"
OPENAPI_URL = "/api/openapi.json"


def path_segment(value: object) -> str:
    """An id quoted as one URL path segment: ``/`` too, unlike Jinja's ``urlencode``."""
    return quote(str(value), safe="")


GC_THRESHOLDS = (50_000, 20, 50)
"""Garbage collector thresholds of a server process. A server holds many long-lived objects
(the snapshot, cached dashboards and pages); with Python's defaults a full collection over them
runs every few hundred requests and stalls whichever requests are in flight for hundreds of
milliseconds (``benchmarks/results/dashboard.md``); these make collections rarer."""


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """Build one app; ``settings`` default to the environment, tests may inject ``services``."""
    gc.set_threshold(*GC_THRESHOLDS)
    settings = settings or Settings()
    services = services or Services.build(settings)

    templates = Jinja2Templates(directory=str(settings.templates_dir))
    templates.env.globals["version"] = __version__
    templates.env.globals["csrf_token"] = csrf_token
    templates.env.globals["current_user"] = session_user
    templates.env.filters["path_segment"] = path_segment
    zone = ZoneInfo(settings.timezone)
    templates.env.filters["local"] = lambda moment, fmt: moment.astimezone(zone).strftime(fmt)
    state = AppState(
        settings=settings,
        services=services,
        templates=templates,
        login_limiter=LoginLimiter(
            max_failures=settings.login_max_failures,
            max_failures_per_ip=settings.login_max_failures_per_ip,
            window_s=settings.login_window_s,
        ),
        calendar_feeds=CalendarFeeds(services.store, settings),
        planning_jobs=PlanningJobs(),
        repair_jobs=RepairJobs(
            RepairQueue(
                workers=settings.repair_workers,
                max_queued=settings.repair_queue,
                per_rep_per_minute=settings.repair_rate_per_minute,
            )
        ),
        territory_jobs=TerritoryJobs(),
        dry_runs=DryRuns(),
        kpi_memo=KpiMemo(),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Plans left "running" by a crashed or killed server would show a progress bar
        # forever and could never be cancelled: mark them failed before serving.
        recover_interrupted_plans(services.store)
        yield
        # Stop our own runs so their versions end as "cancelled", not "running" (and
        # territory jobs, which would otherwise hold the process up).
        state.cancel_jobs()
        stop_workers()  # the Ray workers planning started in this process, if any

    app = FastAPI(
        lifespan=lifespan,
        title="routeplanner",
        version=__version__,
        description="Field-sales territories, visit schedules and daily routes on real OSM roads.",
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
    )
    add_api_docs(app, docs_url="/api/docs", openapi_url=OPENAPI_URL)
    app.state.routeplanner = state
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    install_error_handlers(app)
    # An empty key means a random one per start: sessions then end with the process, which is
    # safe but logs everyone out on restart; set RP_SECRET_KEY for a stable deployment.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key or secrets.token_urlsafe(32),
        session_cookie="rp_session",
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.session_https_only,
    )
    # A rep's day page carries an inline SVG map to a phone on a weak signal: compress it;
    # bodies below 1 KB are not worth the CPU.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    app.add_middleware(
        BodyLimitMiddleware,
        max_request_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(TrustedHostMiddleware, allowed=settings.allowed_hosts())
    app.add_middleware(
        SecurityHeadersMiddleware,
        tile_url=settings.tile_url,
        https_only=settings.session_https_only,
    )
    app.include_router(login.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(accounts.router)
    app.include_router(calendar.router)
    app.include_router(visits.router)
    app.include_router(field.router)
    app.include_router(plan.router)
    app.include_router(territories.router)
    app.include_router(territories.api_router)
    app.include_router(rules.router)
    app.include_router(rules.api_router)
    app.include_router(learning.router)
    app.include_router(learning.api_router)
    app.include_router(api_days.router)
    app.include_router(api_accounts.router)
    app.include_router(api_visits.router)
    app.include_router(users.router)
    app.include_router(regions.router)
    app.include_router(regions.api_router)
    app.include_router(tokens.router)
    app.include_router(performance.router)
    app.include_router(api_performance.router)
    return app
