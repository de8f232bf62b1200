"""Manager accounts page: search, filter, sort, inline and bulk edits, CSV/XLSX import.

Every edit goes through the importer's own validation (:func:`revalidate`), so a value the
web accepts is one an import would accept too, and an invalid edit stores nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.errors import InputError, Problem
from routeplanner.io.accounts import ACCOUNT_COLUMNS, accounts_to_csv, read_accounts_bytes
from routeplanner.io.opening_hours import format_opening_hours
from routeplanner.io.tables import render_csv
from routeplanner.model import Account
from routeplanner.model.history import VisitStatus
from routeplanner.web.assignment_service import (
    WebImport,
    import_accounts_and_assign,
    ownership_reason,
)
from routeplanner.web.auth import CsrfDep, ManagerDep
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.services import Services

router = APIRouter()
PAGE_SIZE = 50
EDIT_SOURCE = "edit"
SORT_KEYS = (
    "id",
    "name",
    "address",
    "category",
    "value_class",
    "frequency",
    "visit",
    "territory",
    "rep",
    "last_visit",
)
ServicesDep = Annotated[Services, Depends(get_services)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]


@dataclass(frozen=True, slots=True)
class Row:
    account: Account
    territory: str
    rep: str
    last_visit: date | None = None
    overdue: bool = False
    reason: str = ""


def revalidate(
    accounts: list[Account],
    changes: list[dict[str, str]],
    *,
    rep_ids: Collection[str] | None = None,
) -> list[Account]:
    """Apply cell ``changes`` (import column -> text) and validate exactly as an import would.

    Problems are reported with ``row`` = index in ``accounts`` + 2 (spreadsheet numbering)
    and ``source`` = the account id, so the page can show them next to the right row. With
    ``rep_ids`` a changed ``locked_rep`` must name one of them: the importer cannot check that
    (it reads accounts without reps), but an edit knows the stored reps.

    Raises
    ------
    InputError
        Listing every problem of every account; nothing is returned then.
    """
    rows = list(csv.DictReader(io.StringIO(accounts_to_csv(accounts))))
    for row, change in zip(rows, changes, strict=True):
        row.update(change)
    data = render_csv(ACCOUNT_COLUMNS, ([row[c] for c in ACCOUNT_COLUMNS] for row in rows))
    problems: list[Problem] = []
    edited: list[Account] = []
    try:
        edited = read_accounts_bytes(data.encode("utf-8"), source=EDIT_SOURCE)
    except InputError as exc:
        problems = [
            Problem(
                accounts[p.row - 2].account_id
                if p.row is not None and 2 <= p.row < len(accounts) + 2
                else EDIT_SOURCE,
                None,
                p.field,
                p.message,
            )
            for p in exc.problems
        ]
    if rep_ids is not None:
        problems.extend(unknown_locks(accounts, changes, rep_ids))
    if problems:
        raise InputError(problems)
    return edited


def unknown_locks(
    accounts: list[Account], changes: list[dict[str, str]], rep_ids: Collection[str]
) -> list[Problem]:
    """A ``locked_rep`` change naming no stored rep, as a field problem of that account."""
    known = ", ".join(sorted(rep_ids)) or "none"
    return [
        Problem(
            a.account_id,
            None,
            "locked_rep",
            f"unknown rep {change['locked_rep']!r} (known reps: {known})",
        )
        for a, change in zip(accounts, changes, strict=True)
        if change.get("locked_rep") and change["locked_rep"] not in rep_ids
    ]


def _rows(services: Services) -> list[Row]:
    owners: dict[str, tuple[str, str]] = {}
    for t in services.store.territories.all():
        for account_id in t.account_ids:
            owners[account_id] = (t.territory_id, t.rep_id or "")
    last: dict[str, date] = {}
    for record in services.store.visits.find():
        if record.status is VisitStatus.DONE:
            last[record.account_id] = max(record.day, last.get(record.account_id, record.day))
    today = datetime.now(tz=ZoneInfo(services.settings.timezone)).date()
    reasons = {
        account_id: ownership_reason(record)
        for account_id, record in services.store.territories.current_ownerships().items()
    }
    rows = []
    for a in services.store.accounts.all():
        seen = [d for d in (a.last_visit, last.get(a.account_id)) if d is not None]
        latest = max(seen) if seen else None
        overdue = latest is not None and (today - latest).days > a.visit_rule.max_gap_days
        territory, rep = owners.get(a.account_id, ("", ""))
        reason = reasons.get(a.account_id, "") if territory else ""
        rows.append(Row(a, territory, rep, latest, overdue, reason))
    return rows


_SORTS: dict[str, Callable[[Row], Any]] = {
    "id": lambda r: r.account.account_id.casefold(),
    "name": lambda r: r.account.name.casefold(),
    "address": lambda r: r.account.address.casefold(),
    "category": lambda r: r.account.category.casefold(),
    "value_class": lambda r: r.account.value_class,
    "frequency": lambda r: str(r.account.visit_rule),
    "last_visit": lambda r: r.last_visit or date.min,
    "visit": lambda r: r.account.visit_duration_s,
    "territory": lambda r: r.territory.casefold(),
    "rep": lambda r: r.rep.casefold(),
}


@dataclass(frozen=True, slots=True)
class Query:
    q: str = ""
    territory: str = ""
    rep: str = ""
    category: str = ""
    value_class: str = ""
    sort: str = "id"
    desc: bool = False
    page: int = 1
    overdue: bool = False
    locked: bool = False

    def url(self, **changes: object) -> str:
        values: dict[str, object] = {
            "q": self.q,
            "territory": self.territory,
            "rep": self.rep,
            "category": self.category,
            "value_class": self.value_class,
            "sort": self.sort,
            "desc": "1" if self.desc else "",
            "page": self.page,
            "overdue": "1" if self.overdue else "",
            "locked": "1" if self.locked else "",
        }
        values.update(changes)
        return "/accounts?" + urlencode({k: v for k, v in values.items() if v not in ("", None)})

    def sort_url(self, column: str) -> str:
        desc = "" if column != self.sort else ("" if self.desc else "1")
        return self.url(sort=column, desc=desc, page=1)


def select(rows: list[Row], query: Query) -> list[Row]:
    """Search (id, name, address; case-insensitive), filter and sort."""
    needle = query.q.strip().casefold()
    found = [
        r
        for r in rows
        if (
            not needle
            or needle in r.account.account_id.casefold()
            or needle in r.account.name.casefold()
            or needle in r.account.address.casefold()
        )
        and (not query.territory or r.territory == query.territory)
        and (not query.rep or r.rep == query.rep)
        and (not query.category or r.account.category == query.category)
        and (not query.value_class or r.account.value_class == query.value_class)
        and (not query.overdue or r.overdue)
        and (not query.locked or r.account.locked_rep_id is not None)
    ]
    return sorted(found, key=_SORTS.get(query.sort, _SORTS["id"]), reverse=query.desc)


def _render(
    request: Request,
    services: Services,
    templates: Jinja2Templates,
    query: Query,
    *,
    row_errors: dict[str, list[Problem]] | None = None,
    page_errors: list[Problem] | None = None,
    message: str = "",
    status_code: int = 200,
    imported: WebImport | None = None,
) -> Response:
    rows = _rows(services)
    found = select(rows, query)
    pages = max(1, -(-len(found) // PAGE_SIZE))
    page = min(max(1, query.page), pages)
    context = {
        "query": query,
        "rows": found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "total": len(rows),
        "matching": len(found),
        "page": page,
        "pages": pages,
        "territories": sorted({r.territory for r in rows if r.territory}),
        "reps": sorted({r.rep for r in rows if r.rep}),
        "categories": sorted({r.account.category for r in rows if r.account.category}),
        "value_classes": sorted({r.account.value_class for r in rows}),
        "sort_columns": SORT_KEYS,
        "row_errors": row_errors or {},
        "page_errors": page_errors or [],
        "message": message,
        "hours_text": format_opening_hours,
        "all_reps": services.store.reps.all(),
        "imported": imported,
    }
    return templates.TemplateResponse(request, "accounts.html", context, status_code=status_code)


@router.get("/accounts", response_class=HTMLResponse, include_in_schema=False)
def accounts_page(
    request: Request,
    _user: ManagerDep,
    services: ServicesDep,
    templates: TemplatesDep,
    q: str = "",
    territory: str = "",
    rep: str = "",
    category: str = "",
    value_class: str = "",
    sort: str = "id",
    desc: str = "",
    page: int = 1,
    overdue: str = "",
    saved: str = "",
    locked: str = "",
) -> Response:
    """The accounts table for managers: one server-rendered page, no JavaScript needed."""
    query = Query(
        q,
        territory,
        rep,
        category,
        value_class,
        sort,
        bool(desc),
        page,
        bool(overdue),
        bool(locked),
    )
    return _render(request, services, templates, query, message=saved)


NO_LOCK = "-"
"""Bulk edit value meaning "remove the lock" / "no qualifications" (empty means unchanged)."""


def account_change(
    frequency: str,
    visit_minutes: str,
    opening_hours: str | None,
    *,
    locked_rep: str | None = None,
    requires: str | None = None,
) -> dict[str, str]:
    """Import cells to change; ``None`` leaves a field as it is, ``""`` clears lock/requires."""
    change: dict[str, str] = {}
    if frequency.strip():
        change["frequency"] = frequency.strip()
        change["min_gap_days"] = ""
        change["max_gap_days"] = ""
    if visit_minutes.strip():
        change["visit_minutes"] = visit_minutes.strip()
    if opening_hours is not None:
        change["opening_hours"] = opening_hours.strip()
    if locked_rep is not None:
        change["locked_rep"] = locked_rep.strip()
    if requires is not None:
        change["requires"] = requires.strip()
    return change


def _grouped(problems: list[Problem]) -> dict[str, list[Problem]]:
    grouped: dict[str, list[Problem]] = {}
    for p in problems:
        grouped.setdefault(p.source, []).append(p)
    return grouped


@router.post("/accounts/import", include_in_schema=False, dependencies=[CsrfDep])
async def import_accounts(
    request: Request,
    user: ManagerDep,
    services: ServicesDep,
    templates: TemplatesDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Validate the whole file; store it (add or update) only when every row is fine, then
    assign every account in no territory by the stored rules (else best fit), as the CLI
    import does, and show the balance afterwards with a realignment hint when it drifts."""
    data = await file.read()
    source = file.filename or "upload"
    try:
        accounts = read_accounts_bytes(data, source=source)
    except InputError as exc:
        return _render(
            request, services, templates, Query(), page_errors=exc.problems, status_code=422
        )
    try:
        result = import_accounts_and_assign(services, accounts, source=source, user=user.username)
    except InputError as exc:
        return _render(
            request, services, templates, Query(), page_errors=exc.problems, status_code=422
        )
    summary = result.summary
    message = (
        f"Imported {source}: {summary.accounts_added} new, {summary.accounts_changed} changed, "
        f"{summary.accounts_unchanged} unchanged."
    )
    if result.report is not None:
        message += f" {result.moved} assigned to a territory."
    return _render(request, services, templates, Query(), message=message, imported=result)


def _bulk_value(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    return "" if text == NO_LOCK else text


@router.post("/accounts/bulk", include_in_schema=False, dependencies=[CsrfDep])
def bulk_edit(
    request: Request,
    _user: ManagerDep,
    services: ServicesDep,
    templates: TemplatesDep,
    ids: Annotated[list[str] | None, Form()] = None,
    frequency: Annotated[str, Form()] = "",
    visit_minutes: Annotated[str, Form()] = "",
    locked_rep: Annotated[str, Form()] = "",
    requires: Annotated[str, Form()] = "",
) -> Response:
    """Set frequency, visit minutes, lock and/or qualifications of every selected account.

    All or nothing. An empty lock or qualification field leaves it unchanged; ``-`` clears it.
    """
    wanted = set(ids or [])
    accounts = [a for a in services.store.accounts.all() if a.account_id in wanted]
    change = account_change(
        frequency,
        visit_minutes,
        None,
        locked_rep=_bulk_value(locked_rep),
        requires=_bulk_value(requires),
    )
    if not accounts or not change:
        problem = Problem(
            "bulk",
            None,
            None,
            "select accounts and give a frequency, minutes, lock or qualifications",
        )
        return _render(
            request, services, templates, Query(), page_errors=[problem], status_code=422
        )
    rep_ids = {r.rep_id for r in services.store.reps.all()}
    try:
        edited = revalidate(accounts, [change] * len(accounts), rep_ids=rep_ids)
    except InputError as exc:
        return _render(
            request,
            services,
            templates,
            Query(),
            row_errors=_grouped(exc.problems),
            page_errors=exc.problems,
            status_code=422,
        )
    services.store.accounts.upsert(edited, source="web bulk edit")
    return RedirectResponse(
        "/accounts?" + urlencode({"saved": f"{len(edited)} accounts saved"}), status_code=303
    )


@router.post("/accounts/{account_id}", include_in_schema=False, dependencies=[CsrfDep])
def edit_account(
    request: Request,
    account_id: str,
    _user: ManagerDep,
    services: ServicesDep,
    templates: TemplatesDep,
    frequency: Annotated[str, Form()] = "",
    visit_minutes: Annotated[str, Form()] = "",
    opening_hours: Annotated[str, Form()] = "",
    locked_rep: Annotated[str | None, Form()] = None,
    requires: Annotated[str | None, Form()] = None,
    lock_fields: Annotated[str, Form()] = "",
) -> Response:
    """Inline edit of one row, validated like an import; on error nothing is stored.

    The page's row form sends ``lock_fields=1``: then an empty lock or qualification field
    clears it (form parsing turns "" into "not sent"). Without it (older clients), lock and
    qualifications stay as they are unless given.
    """
    if lock_fields:
        locked_rep, requires = locked_rep or "", requires or ""
    account = services.store.accounts.get(account_id)
    if account is None:
        raise HTTPException(status_code=404, detail=f"account {account_id!r} not found")
    query = Query(q=account_id)
    try:
        if frequency.strip() == str(account.visit_rule):
            frequency = ""  # unchanged: keep custom gap days
        change = account_change(
            frequency, visit_minutes, opening_hours, locked_rep=locked_rep, requires=requires
        )
        rep_ids = {r.rep_id for r in services.store.reps.all()}
        (edited,) = revalidate([account], [change], rep_ids=rep_ids)
    except InputError as exc:
        return _render(
            request,
            services,
            templates,
            query,
            row_errors=_grouped(exc.problems),
            status_code=422,
        )
    services.store.accounts.upsert([edited], source="web edit")
    return RedirectResponse(query.url(saved=f"{account_id} saved", page=""), status_code=303)


@router.get("/accounts/{account_id}", response_class=HTMLResponse, include_in_schema=False)
def account_page(
    request: Request,
    account_id: str,
    _user: ManagerDep,
    services: ServicesDep,
    templates: TemplatesDep,
) -> Response:
    """One account: its owner now and why, and who owned it when and why (ownership history)."""
    store = services.store
    account = store.accounts.get(account_id)
    if account is None:
        raise HTTPException(status_code=404, detail=f"account {account_id!r} not found")
    owner = next((t for t in store.territories.all() if account_id in t.account_ids), None)
    current = store.territories.current_ownership(account_id)
    history = list(reversed(store.territories.ownership_history(account_id)))
    context = {
        "account": account,
        "owner": owner,
        "reason": ownership_reason(current) if owner is not None else "",
        "current": current,
        "history": [(r, ownership_reason(r)) for r in history],
        "rep_names": {r.rep_id: r.name for r in store.reps.all()},
        "hours_text": format_opening_hours,
    }
    return templates.TemplateResponse(request, "account.html", context)
