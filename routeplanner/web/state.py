"""What one web app holds, typed: built once in ``create_app``, reached through the request.

Job registries, caches and the calendar feeds live here rather than being made on first use
by the route that needs them, so two requests can never race to create two of one, and
shutdown cancels the registries it holds by reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.templating import Jinja2Templates

from routeplanner.services.calendar import CalendarFeeds
from routeplanner.services.territories import KpiMemo
from routeplanner.settings import Settings
from routeplanner.web.flash import Flashes
from routeplanner.web.jobs import DryRuns, Jobs, PlanningJobs, RepairJobs, TerritoryJobs
from routeplanner.web.ratelimit import LoginLimiter
from routeplanner.web.services import Services


@dataclass
class AppState:
    """Everything per app that is not per request; ``calendar_feeds`` may be replaced (tests
    give it a clock)."""

    settings: Settings
    services: Services
    templates: Jinja2Templates
    login_limiter: LoginLimiter
    calendar_feeds: CalendarFeeds
    planning_jobs: PlanningJobs
    repair_jobs: RepairJobs
    territory_jobs: TerritoryJobs
    dry_runs: DryRuns
    kpi_memo: KpiMemo
    flashes: Flashes = field(default_factory=Flashes)

    def job_registries(self) -> tuple[Jobs[Any], ...]:
        """The registries whose running jobs shutdown stops. Repairs are not among them: one
        lasts seconds and stores its plan in one transaction, so it is left to finish."""
        return (self.planning_jobs, self.territory_jobs)

    def cancel_jobs(self, timeout_s: float = 10.0) -> None:
        """Ask every running job to stop and wait for it: a cancelled planning run marks its
        version failed instead of leaving it "running". Repairs already taken finish; new
        ones are refused."""
        for jobs in self.job_registries():
            jobs.cancel_all(timeout_s)
        self.repair_jobs.close(timeout_s)


def app_state(app: FastAPI) -> AppState:
    state: AppState = app.state.routeplanner
    return state


async def get_state(request: Request) -> AppState:
    """The request's app state (``async``: it never waits, and a thread hop would cost more)."""
    return app_state(request.app)
