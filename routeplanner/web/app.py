"""FastAPI application factory: every app gets its own settings, database and road network."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from routeplanner import __version__
from routeplanner.settings import Settings
from routeplanner.web.errors import install_error_handlers
from routeplanner.web.routes import api, calendar, pages
from routeplanner.web.services import Services

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """Build one app; ``settings`` default to the environment, tests may inject ``services``."""
    settings = settings or Settings()
    services = services or Services.build(settings)
    app = FastAPI(
        title="routeplanner",
        version=__version__,
        description="Field-sales territories, visit schedules and daily routes on real OSM roads.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.services = services
    templates = Jinja2Templates(directory=str(settings.templates_dir))
    templates.env.globals["version"] = __version__
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(calendar.router)
    return app
