"""Bulk edits through the accounts page as a manager makes them: preview, then the preview's
own "Apply" form."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlencode

import httpx
from fastapi.testclient import TestClient


class _ApplyForm(HTMLParser):
    """The fields of the page's ``#bulk-apply`` form, in order (``ids`` repeats)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.inside = found.get("id") == "bulk-apply"
        elif tag == "input" and self.inside and found.get("name"):
            self.fields.append((found["name"] or "", found.get("value") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def apply_fields(html: str) -> list[tuple[str, str]]:
    """What the preview's "Apply" button sends (empty: the page has no such form)."""
    parser = _ApplyForm()
    parser.feed(html)
    return parser.fields


def preview(client: TestClient, data: dict[str, object]) -> httpx.Response:
    return client.post("/accounts/bulk/preview", data=data)


def bulk_edit(client: TestClient, data: dict[str, object]) -> httpx.Response:
    """Preview ``data``, then press the preview's "Apply"; the apply's answer (not followed)."""
    shown = preview(client, data)
    assert shown.status_code == 200, shown.text
    fields = apply_fields(shown.text)
    assert fields, "the preview offers no apply"
    return post_apply(client, fields)


def post_apply(client: TestClient, fields: list[tuple[str, str]]) -> httpx.Response:
    return client.post(
        "/accounts/bulk",
        content=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
