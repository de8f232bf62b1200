"""Request dependencies: reach the per-app state without globals.

They are ``async`` because they never wait: FastAPI runs a plain ``def`` dependency on a
worker thread, and that hop cost more than the cached day page itself."""

from __future__ import annotations

from fastapi import Request
from fastapi.templating import Jinja2Templates

from routeplanner.web.services import Services
from routeplanner.web.state import app_state


async def get_services(request: Request) -> Services:
    return app_state(request.app).services


async def get_templates(request: Request) -> Jinja2Templates:
    return app_state(request.app).templates
