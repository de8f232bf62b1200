"""Request dependencies: reach the per-app services without globals."""

from __future__ import annotations

from fastapi import Request
from fastapi.templating import Jinja2Templates

from routeplanner.web.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates
