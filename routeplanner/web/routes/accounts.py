"""Manager accounts page: search, filter, sort, inline edits, bulk edits (preview, then apply),
CSV/XLSX import.

The edits and the import are :mod:`routeplanner.services.imports` use cases, validated as an
import is; this module filters, sorts and renders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.errors import ConflictError, InputError, Problem
from routeplanner.io.accounts import read_accounts_bytes
from routeplanner.io.opening_hours import format_opening_hours
from routeplanner.io.tables import limits_from
from routeplanner.services import imports
from routeplanner.services.imports import AccountEdit, BulkPreview, ImportResult
from routeplanner.services.imports import AccountRow as Row
from routeplanner.services.scope import Scope
from routeplanner.web.auth import CsrfDep, ManagerDep, ScopeDep
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.services import Services

router = APIRouter()
PAGE_SIZE = 50
_MAX_BACK = 2000  # characters of a form's "back" query: more is not one of our URLs
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


def _rows(services: Services, scope: Scope) -> list[Row]:
    today = datetime.now(tz=ZoneInfo(services.settings.timezone)).date()
    return imports.account_rows(services.store, scope, today=today)


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

    @classmethod
    def from_url_query(cls, text: str) -> Query:
        """The list query a form came from (its ``back`` field), so saving returns to the same
        filtered, sorted page; anything unreadable or oversized falls back to the full list."""
        if len(text) > _MAX_BACK:
            return cls()
        values = dict(parse_qsl(text.removeprefix("/accounts?")))
        page = values.get("page", "1")
        return cls(
            q=values.get("q", ""),
            territory=values.get("territory", ""),
            rep=values.get("rep", ""),
            category=values.get("category", ""),
            value_class=values.get("value_class", ""),
            sort=values.get("sort", "id") if values.get("sort") in SORT_KEYS else "id",
            desc=bool(values.get("desc")),
            page=int(page) if page.isdigit() and len(page) < 7 else 1,
            overdue=bool(values.get("overdue")),
            locked=bool(values.get("locked")),
        )

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
    scope: Scope,
    query: Query,
    *,
    row_errors: dict[str, list[Problem]] | None = None,
    page_errors: list[Problem] | None = None,
    message: str = "",
    status_code: int = 200,
    imported: ImportResult | None = None,
    bulk: BulkForm | None = None,
    preview: BulkPreview | None = None,
) -> Response:
    rows = _rows(services, scope)
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
        "all_reps": scope.reps_of(services.store.reps.all()),
        "imported": imported,
        "bulk": bulk or BulkForm(),
        "preview": preview,
        "no_value": imports.NO_VALUE,
    }
    return templates.TemplateResponse(request, "accounts.html", context, status_code=status_code)


@router.get("/accounts", response_class=HTMLResponse, include_in_schema=False)
def accounts_page(
    request: Request,
    _user: ManagerDep,
    scope: ScopeDep,
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
    return _render(request, services, templates, scope, query, message=saved)


def _grouped(problems: list[Problem]) -> dict[str, list[Problem]]:
    grouped: dict[str, list[Problem]] = {}
    for p in problems:
        grouped.setdefault(p.source, []).append(p)
    return grouped


@router.post("/accounts/import", include_in_schema=False, dependencies=[CsrfDep])
def import_accounts(
    request: Request,
    user: ManagerDep,
    scope: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Validate the whole file; store it (add or update) only when every row is fine, then
    assign every account in no territory by the stored rules (else best fit), as the CLI
    import does, and show the balance afterwards with a realignment hint when it drifts.

    A plain ``def``: parsing a workbook takes seconds, on a worker thread, not the event loop.
    """
    data = file.file.read()
    source = file.filename or "upload"
    try:
        accounts = read_accounts_bytes(data, source=source, limits=limits_from(services.settings))
    except InputError as exc:
        return _render(
            request, services, templates, scope, Query(), page_errors=exc.problems, status_code=422
        )
    try:
        result = imports.add_accounts(
            services.store,
            accounts,
            services.travel,
            source=source,
            scope=scope,
            user=user.username,
        )
    except InputError as exc:
        return _render(
            request, services, templates, scope, Query(), page_errors=exc.problems, status_code=422
        )
    summary = result.summary
    message = (
        f"Imported {source}: {summary.accounts_added} new, {summary.accounts_changed} changed, "
        f"{summary.accounts_unchanged} unchanged."
    )
    if result.report is not None:
        message += f" {result.moved} assigned to a territory."
    return _render(request, services, templates, scope, Query(), message=message, imported=result)


@dataclass(frozen=True, slots=True)
class BulkForm:
    """The bulk edit as the form sent it: carried from the preview to the apply unchanged."""

    ids: tuple[str, ...] = ()
    frequency: str = ""
    visit_minutes: str = ""
    locked_rep: str = ""
    requires: str = ""

    def edit(self) -> AccountEdit:
        return AccountEdit.bulk(self.frequency, self.visit_minutes, self.locked_rep, self.requires)


BulkText = Annotated[str, Form(max_length=200)]


def bulk_form(
    ids: Annotated[list[str] | None, Form()] = None,
    frequency: BulkText = "",
    visit_minutes: BulkText = "",
    locked_rep: BulkText = "",
    requires: BulkText = "",
) -> BulkForm:
    return BulkForm(tuple(ids or ()), frequency, visit_minutes, locked_rep, requires)


BulkFormDep = Annotated[BulkForm, Depends(bulk_form)]


@router.post("/accounts/bulk/preview", include_in_schema=False, dependencies=[CsrfDep])
def bulk_preview(
    request: Request,
    _user: ManagerDep,
    scope: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
    form: BulkFormDep,
    back_to: Annotated[str, Form(alias="back")] = "",
) -> Response:
    """Show what setting frequency, visit minutes, lock and/or qualifications of every selected
    account would change, before → after; stores nothing. An empty lock or qualification field
    leaves it unchanged; ``-`` clears it."""
    back = Query.from_url_query(back_to)
    try:
        preview = imports.preview_bulk_edit(services.store, form.ids, form.edit(), scope)
    except InputError as exc:
        return _bulk_refused(request, services, templates, scope, back, form, exc.problems, 422)
    return _render(request, services, templates, scope, back, bulk=form, preview=preview)


@router.post("/accounts/bulk", include_in_schema=False, dependencies=[CsrfDep])
def bulk_apply(
    request: Request,
    _user: ManagerDep,
    scope: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
    form: BulkFormDep,
    digest: Annotated[str, Form(max_length=64)] = "",
    back_to: Annotated[str, Form(alias="back")] = "",
) -> Response:
    """Store exactly the previewed bulk edit (``digest`` from the preview), all or nothing;
    409 with a new preview when the accounts changed since."""
    back = Query.from_url_query(back_to)
    if not digest:
        problem = Problem("bulk", None, "digest", "preview the bulk edit before applying it")
        return _bulk_refused(request, services, templates, scope, back, form, [problem], 422)
    try:
        applied = imports.apply_bulk_edit(
            services.store, form.ids, form.edit(), digest=digest, scope=scope
        )
    except InputError as exc:
        return _bulk_refused(request, services, templates, scope, back, form, exc.problems, 422)
    except ConflictError as exc:
        problem = Problem("bulk", None, None, f"{exc}; here is what it would do now")
        return _bulk_refused(request, services, templates, scope, back, form, [problem], 409)
    saved = f"{len(applied.changes)} accounts saved, {applied.unchanged} unchanged"
    return RedirectResponse(back.url(saved=saved), status_code=303)


def _bulk_refused(
    request: Request,
    services: Services,
    templates: Jinja2Templates,
    scope: Scope,
    query: Query,
    form: BulkForm,
    problems: list[Problem],
    status_code: int,
) -> Response:
    """The list with what was wrong; after a conflict also the edit's preview on today's
    accounts, when it still has one."""
    preview = None
    if status_code == 409:
        try:
            preview = imports.preview_bulk_edit(services.store, form.ids, form.edit(), scope)
        except InputError as exc:
            problems = [*problems, *exc.problems]
    return _render(
        request,
        services,
        templates,
        scope,
        query,
        row_errors=_grouped(problems),
        page_errors=problems,
        status_code=status_code,
        bulk=form,
        preview=preview,
    )


@router.post("/accounts/{account_id}", include_in_schema=False, dependencies=[CsrfDep])
def edit_account(
    request: Request,
    account_id: str,
    _user: ManagerDep,
    scope: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
    frequency: Annotated[str, Form()] = "",
    visit_minutes: Annotated[str, Form()] = "",
    opening_hours: Annotated[str, Form()] = "",
    locked_rep: Annotated[str | None, Form()] = None,
    requires: Annotated[str | None, Form()] = None,
    lock_fields: Annotated[str, Form()] = "",
    back_to: Annotated[str, Form(alias="back")] = "",
) -> Response:
    """Inline edit of one row, validated like an import; on error nothing is stored.

    The page's row form sends ``lock_fields=1``: then an empty lock or qualification field
    clears it (form parsing turns "" into "not sent"). Without it (older clients), lock and
    qualifications stay as they are unless given.
    """
    if lock_fields:
        locked_rep, requires = locked_rep or "", requires or ""
    edit = AccountEdit(
        frequency=frequency,
        visit_minutes=visit_minutes,
        opening_hours=opening_hours,
        locked_rep=locked_rep,
        requires=requires,
    )
    query = Query(q=account_id)
    try:
        imports.edit_account(services.store, account_id, edit, source="web edit", scope=scope)
    except InputError as exc:
        return _render(
            request,
            services,
            templates,
            scope,
            query,
            row_errors=_grouped(exc.problems),
            status_code=422,
        )
    back = Query.from_url_query(back_to) if back_to else Query(q=account_id)
    return RedirectResponse(back.url(saved=f"{account_id} saved"), status_code=303)
