"""Request dependencies: reach the per-app services without globals.

They are ``async`` because they never wait: FastAPI runs a plain ``def`` dependency on a
worker thread, and that hop cost more than the cached day page itself."""

from __future__ import annotations

from fastapi import Request
from fastapi.templating import Jinja2Templates

from routeplanner.web.services import Services


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates
