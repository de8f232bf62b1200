"""The Content-Security-Policy of the rep's pages: scripts and styles only from our own static
files (no inline script, style or event handler), so injected markup can run nothing."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Response

from routeplanner.settings import Settings


def rep_page_policy(settings: Settings) -> str:
    """The policy; images may also come from the tile server when one is configured."""
    images = "'self' data:"
    if settings.tile_url:
        parts = urlsplit(settings.tile_url)
        if parts.scheme in ("http", "https") and parts.netloc:
            images += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self'; form-action 'self'; "
        "manifest-src 'self'; worker-src 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )


def strict(response: Response, settings: Settings) -> Response:
    """``response`` with the rep pages' policy."""
    response.headers["Content-Security-Policy"] = rep_page_policy(settings)
    return response
