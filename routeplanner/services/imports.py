"""Account and rep use cases: check and import files, add accounts, edit them one by one or in
bulk, delete them, and the accounts list a manager works from.

Every edit goes through the importer's own validation (:func:`revalidate`), so a value an edit
accepts is one an import would accept too, and an invalid edit stores nothing. An import that
finds territories gives each new account one by the stored rules (else best fit) in the same
transaction, so a new account never sits without a territory.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from routeplanner.assignment import AssignmentReport, AssignMode, assign_accounts
from routeplanner.assignment.assign import Decision
from routeplanner.errors import ConflictError, InputError, NotFoundError, Problem
from routeplanner.io.accounts import (
    ACCOUNT_COLUMNS,
    accounts_to_csv,
    read_accounts,
    read_accounts_bytes,
)
from routeplanner.io.reps import read_reps
from routeplanner.io.tables import DEFAULT_LIMITS, TableLimits, render_csv
from routeplanner.model import Account, Rep
from routeplanner.model.history import OwnershipCause, VisitStatus
from routeplanner.services.assignment import AssignParams, ownership_reason, travel_or_straight_line
from routeplanner.services.scope import Scope
from routeplanner.storage import Store
from routeplanner.storage.records import ImportSummary
from routeplanner.storage.tables import ID_LENGTH
from routeplanner.travel.provider import TravelTimeProvider

Progress = Callable[[str, float], None]
EDIT_SOURCE = "edit"
NEW_ACCOUNTS = AssignParams(mode=AssignMode.NEW)
"""How an import assigns: only accounts in no territory, with the default period and band."""


@dataclass(frozen=True, slots=True)
class DataCheck:
    """What valid files hold (``None`` for a file not given)."""

    accounts: list[Account] | None
    reps: list[Rep] | None


def check_files(
    accounts_path: Path | None, reps_path: Path | None, *, limits: TableLimits = DEFAULT_LIMITS
) -> DataCheck:
    """Check account and rep files without storing anything; both files are checked even when
    the first has problems, so one run shows everything. ``limits`` bound each file's size.

    Raises
    ------
    InputError
        No file given, or every problem of both files (file:row: column: message).
    """
    if accounts_path is None and reps_path is None:
        raise InputError(Problem("check-data", None, None, "give --accounts and/or --reps"))
    problems: list[Problem] = []
    accounts = reps = None
    if accounts_path is not None:
        try:
            accounts = read_accounts(accounts_path, limits=limits)
        except InputError as exc:
            problems += exc.problems
    if reps_path is not None:
        try:
            reps = read_reps(reps_path, limits=limits)
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    return DataCheck(accounts, reps)


def read_files(
    accounts_path: Path, reps_path: Path, *, limits: TableLimits = DEFAULT_LIMITS
) -> tuple[list[Account], list[Rep]]:
    """Read both files; one InputError carries the problems of *both*, so all get fixed at once."""
    found = check_files(accounts_path, reps_path, limits=limits)
    return found.accounts or [], found.reps or []


# -- imports -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import stored, how new accounts were assigned (``None``: no territories, or
    assignment not asked), how many got a territory, and a note when travel was estimated."""

    summary: ImportSummary
    report: AssignmentReport | None
    moved: int
    travel_note: str = ""


def replace_accounts_and_reps(
    store: Store,
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    *,
    source: str,
    user: str = "",
    assignment: Sequence[Decision] = (),
    forget_territories: bool = False,
) -> ImportSummary:
    """Make the stored accounts and reps exactly ``accounts`` and ``reps`` (a full import).

    Accounts and reps missing from the import are removed: removed accounts leave their
    territories, territories of removed reps become unowned, and the ownership history
    records both with cause ``import``. ``assignment`` (decisions for new accounts) is stored
    in the same transaction; ``forget_territories`` removes every territory instead (a fresh
    start, designed again by the next plan). All or nothing: on any error nothing changes.
    """
    detail = f"import from {source}"
    with store.transaction(detail) as tx:
        summary = tx.accounts.replace_all(accounts, source=source)
        summary += tx.reps.replace_all(reps, source=source)
        if forget_territories:
            tx.territories.save(
                [], cause=OwnershipCause.IMPORT, user=user, detail=detail, replace_all=True
            )
        tx.territories.record_ownership(OwnershipCause.IMPORT, user=user, detail=detail)
        tx.territories.apply_assignment(assignment, user=user, cause=OwnershipCause.IMPORT)
    return summary


def import_and_assign(
    store: Store,
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: Callable[[], TravelTimeProvider] | None,
    *,
    source: str,
    user: str = "",
    progress: Progress | None = None,
) -> ImportResult:
    """Store a full import, then give every account in no territory a territory by the stored
    rules (else best fit), recorded with cause ``import`` and each account's reason.

    The assignment is computed *before* anything is stored, so a rule that no longer fits the
    territories stops the import with the rule named and nothing written. Existing accounts
    never move: the report shows the balance afterwards and whether a realignment is due.
    ``travel`` is a factory so the road network is loaded only when there is something to
    assign; ``None`` skips assignment.
    """
    territories = store.territories.all() if travel is not None else []
    report = None
    if territories and travel is not None:
        report = _assign_new(store, accounts, reps, travel(), progress)
    decisions = report.decisions if report is not None else ()
    summary = replace_accounts_and_reps(
        store, accounts, reps, source=source, user=user, assignment=decisions
    )
    return ImportResult(summary, report, sum(1 for d in decisions if d.changed))


def _assign_new(
    store: Store,
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    progress: Progress | None = None,
) -> AssignmentReport:
    return assign_accounts(
        accounts,
        reps,
        store.territories.all(),
        store.rules.all(),
        travel,
        mode=AssignMode.NEW,
        horizon_days=NEW_ACCOUNTS.horizon_days,
        tolerance=NEW_ACCOUNTS.tolerance,
        progress=progress,
    )


def add_accounts(
    store: Store,
    accounts: Sequence[Account],
    travel: Callable[[], TravelTimeProvider],
    *,
    source: str,
    scope: Scope,
    user: str = "",
) -> ImportResult:
    """Add or update ``accounts`` (the stored reps stay), then give every account in no
    territory one by the stored rules, else best fit (straight-line travel when there is no
    road network, said in the note), in one transaction. As in :func:`import_and_assign`, a
    stored rule that no longer fits stops the import with the rule named. Only an admin
    imports: rules and best fit may place an account in any region."""
    scope.require_everything("import accounts")
    report, note = None, ""
    if store.territories.all():
        merged = {a.account_id: a for a in store.accounts.all()}
        merged.update({a.account_id: a for a in accounts})
        provider, note = travel_or_straight_line(travel)
        report = _assign_new(store, list(merged.values()), store.reps.all(), provider)
    decisions = report.decisions if report is not None else ()
    summary, moved = import_accounts_and_assign(
        store, accounts, decisions, source=source, user=user
    )
    return ImportResult(summary, report, moved, note)


def import_accounts_and_assign(
    store: Store,
    accounts: Sequence[Account],
    decisions: Sequence[Decision],
    *,
    source: str,
    user: str = "",
) -> tuple[ImportSummary, int]:
    """Add or update ``accounts`` and apply ``decisions`` (cause ``import``) in one transaction,
    so an import never leaves new accounts without their territory; returns what the import
    changed and how many accounts moved."""
    with store.transaction(f"import of accounts from {source}") as tx:
        summary = tx.accounts.upsert(accounts, source=source)
        moved = tx.territories.apply_assignment(decisions, user=user, cause=OwnershipCause.IMPORT)
    return summary, moved


def stored_account_ids(store: Store, account_ids: Collection[str]) -> set[str]:
    """Which of ``account_ids`` are stored already (an add-only import refuses those)."""
    return {a.account_id for a in store.accounts.all() if a.account_id in account_ids}


def delete_accounts(store: Store, account_ids: Sequence[str], *, user: str = "") -> int:
    """Remove accounts from storage and their territories, closing their ownership periods
    (cause ``manual``), in one transaction; returns how many existed."""
    with store.transaction("deleting accounts") as tx:
        removed = tx.accounts.delete(account_ids)
        tx.territories.record_ownership(
            OwnershipCause.MANUAL, user=user, detail="deleting accounts"
        )
    return removed


# -- edits ----------------------------------------------------------------------------------------

NO_VALUE = "-"
"""Bulk edit value meaning "remove the lock" / "no qualifications" (empty means unchanged)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountEdit:
    """Import cells to change, as text; ``""`` (frequency, minutes) and ``None`` (the others)
    leave a field as it is, ``""`` clears a lock or the qualifications."""

    frequency: str = ""
    visit_minutes: str = ""
    opening_hours: str | None = None
    locked_rep: str | None = None
    requires: str | None = None

    def cells(self) -> dict[str, str]:
        change: dict[str, str] = {}
        if self.frequency.strip():
            change["frequency"] = self.frequency.strip()
            change["min_gap_days"] = ""
            change["max_gap_days"] = ""
        if self.visit_minutes.strip():
            change["visit_minutes"] = self.visit_minutes.strip()
        if self.opening_hours is not None:
            change["opening_hours"] = self.opening_hours.strip()
        if self.locked_rep is not None:
            change["locked_rep"] = self.locked_rep.strip()
        if self.requires is not None:
            change["requires"] = self.requires.strip()
        return change

    @classmethod
    def bulk(
        cls, frequency: str, visit_minutes: str, locked_rep: str, requires: str
    ) -> AccountEdit:
        """A bulk edit: an empty lock or qualification leaves it, :data:`NO_VALUE` clears it."""

        def value(text: str) -> str | None:
            text = text.strip()
            return None if not text else ("" if text == NO_VALUE else text)

        return cls(
            frequency=frequency,
            visit_minutes=visit_minutes,
            locked_rep=value(locked_rep),
            requires=value(requires),
        )


def revalidate(
    accounts: list[Account],
    changes: list[dict[str, str]],
    *,
    rep_ids: Collection[str] | None = None,
) -> list[Account]:
    """Apply cell ``changes`` (import column -> text) and validate exactly as an import would.

    Problems are reported with ``source`` = the account id, so a page can show them next to
    the right row. With ``rep_ids`` a changed ``locked_rep`` must name one of them: the
    importer cannot check that (it reads accounts without reps), but an edit knows the reps.

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
        problems.extend(_unknown_locks(accounts, changes, rep_ids))
    if problems:
        raise InputError(problems)
    return edited


def _unknown_locks(
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


def edit_account(
    store: Store, account_id: str, edit: AccountEdit, *, source: str, scope: Scope
) -> Account:
    """Change one account as an import would; an unchanged frequency keeps custom gap days.

    Raises
    ------
    NotFoundError
        No such account (or none in ``scope``).
    InputError
        Every problem of the edit (``source`` of each: the account id); nothing stored.
    """
    scope.account(account_id)
    account = store.accounts.get(account_id)
    if account is None:
        msg = f"account {account_id!r} not found"
        raise NotFoundError(msg)
    if edit.frequency.strip() == str(account.visit_rule):
        edit = replace(edit, frequency="")
    rep_ids = {r.rep_id for r in scope.reps_of(store.reps.all())}
    (edited,) = revalidate([account], [edit.cells()], rep_ids=rep_ids)
    store.accounts.upsert([edited], source=source)
    return edited


MAX_BULK = 5000
"""Accounts one bulk edit may name: more is not a selection made on the accounts page."""
BULK_SOURCE = "web bulk edit"
STALE_PREVIEW = "the selected accounts changed since the preview; nothing was stored"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One import column of one account, as shown before and after an edit."""

    field: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class AccountChange:
    """What a bulk edit changes in one account."""

    account_id: str
    name: str
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True, slots=True)
class BulkPreview:
    """What a bulk edit would store: the changes of each account it changes, how many it leaves
    as they are, and ``digest``, a fingerprint of the selection, the edit and the accounts as
    read, which :func:`apply_bulk_edit` checks before storing."""

    account_ids: tuple[str, ...]
    changes: tuple[AccountChange, ...]
    unchanged: int
    digest: str
    edited: tuple[Account, ...]


def preview_bulk_edit(
    store: Store, account_ids: Collection[str], edit: AccountEdit, scope: Scope
) -> BulkPreview:
    """What one edit of every listed account would change, field by field; stores nothing.

    Raises
    ------
    PermissionDeniedError
        An account outside ``scope`` selected.
    InputError
        No account selected, an unknown or oversized selection, nothing to change, or every
        problem of every account (``source``: the account id).
    """
    ids = _bulk_ids(account_ids)
    scope.accounts_all(ids, "editing accounts")
    rep_ids = {r.rep_id for r in scope.reps_of(store.reps.all())}
    with store.read("previewing a bulk edit") as tx:
        accounts = tx.accounts.find(ids)
    return _bulk_preview(ids, accounts, edit, rep_ids)


def apply_bulk_edit(
    store: Store, account_ids: Collection[str], edit: AccountEdit, *, digest: str, scope: Scope
) -> BulkPreview:
    """Store exactly what :func:`preview_bulk_edit` showed (its ``digest``), in one transaction.

    Raises
    ------
    InputError
        As :func:`preview_bulk_edit`; nothing stored.
    ConflictError
        The accounts (or the selection or the edit) differ from the preview's; nothing stored.
    """
    ids = _bulk_ids(account_ids)
    scope.accounts_all(ids, "editing accounts")
    with store.transaction("applying a bulk edit") as tx:
        accounts = tx.accounts.find(ids, lock=True)
        if len(accounts) != len(ids):  # one was deleted since
            raise ConflictError(STALE_PREVIEW)
        rep_ids = {r.rep_id for r in scope.reps_of(tx.reps.all())}
        preview = _bulk_preview(ids, accounts, edit, rep_ids)
        if not hmac.compare_digest(preview.digest, digest):
            raise ConflictError(STALE_PREVIEW)
        if preview.edited:
            tx.accounts.upsert(preview.edited, source=BULK_SOURCE)
    return preview


def _bulk_ids(account_ids: Collection[str]) -> tuple[str, ...]:
    ids = tuple(sorted(set(account_ids)))
    if len(ids) > MAX_BULK:
        message = f"{len(ids)} accounts selected; at most {MAX_BULK} at once"
        raise InputError(Problem("bulk", None, "ids", message))
    if any(len(i) > ID_LENGTH for i in ids):
        message = f"an account id is longer than {ID_LENGTH} characters"
        raise InputError(Problem("bulk", None, "ids", message))
    return ids


def _bulk_preview(
    ids: tuple[str, ...], accounts: list[Account], edit: AccountEdit, rep_ids: Collection[str]
) -> BulkPreview:
    change = edit.cells()
    if not ids or not change:
        message = "select accounts and give a frequency, minutes, lock or qualifications"
        raise InputError(Problem("bulk", None, None, message))
    missing = sorted(set(ids) - {a.account_id for a in accounts})
    if missing:
        message = (
            "no such account: " + ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        )
        raise InputError(Problem("bulk", None, "ids", message))
    edited = revalidate(accounts, [change] * len(accounts), rep_ids=rep_ids)
    before_rows = list(csv.DictReader(io.StringIO(accounts_to_csv(accounts))))
    after_rows = list(csv.DictReader(io.StringIO(accounts_to_csv(edited))))
    changes: list[AccountChange] = []
    for account, before, after in zip(accounts, before_rows, after_rows, strict=True):
        fields = tuple(
            FieldChange(column, before[column], after[column])
            for column in ACCOUNT_COLUMNS
            if before[column] != after[column]
        )
        if fields:
            changes.append(AccountChange(account.account_id, account.name, fields))
    changed_ids = {c.account_id for c in changes}
    seen = json.dumps([ids, sorted(change.items()), before_rows], ensure_ascii=False)
    return BulkPreview(
        account_ids=ids,
        changes=tuple(changes),
        unchanged=len(accounts) - len(changes),
        digest=hashlib.sha256(seen.encode("utf-8")).hexdigest(),
        edited=tuple(a for a in edited if a.account_id in changed_ids),
    )


# -- the accounts list -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account with its territory, rep, last visit, whether it is overdue, and why it sits
    in its territory."""

    account: Account
    territory: str
    rep: str
    last_visit: date | None = None
    overdue: bool = False
    reason: str = ""


def account_rows(store: Store, scope: Scope, *, today: date) -> list[AccountRow]:
    """Every account ``scope`` sees as the accounts page lists it."""
    with store.read("reading the accounts list") as tx:
        territories, records = tx.territories.all(), tx.visits.find()
        ownerships, accounts = tx.territories.current_ownerships(), tx.accounts.all()
    accounts = scope.accounts_of(accounts)
    owners: dict[str, tuple[str, str]] = {}
    for t in territories:
        for account_id in t.account_ids:
            owners[account_id] = (t.territory_id, t.rep_id or "")
    last: dict[str, date] = {}
    for record in records:
        if record.status is VisitStatus.DONE:
            last[record.account_id] = max(record.day, last.get(record.account_id, record.day))
    reasons = {account_id: ownership_reason(r) for account_id, r in ownerships.items()}
    rows = []
    for a in accounts:
        seen = [d for d in (a.last_visit, last.get(a.account_id)) if d is not None]
        latest = max(seen) if seen else None
        overdue = latest is not None and (today - latest).days > a.visit_rule.max_gap_days
        territory, rep = owners.get(a.account_id, ("", ""))
        reason = reasons.get(a.account_id, "") if territory else ""
        rows.append(AccountRow(a, territory, rep, latest, overdue, reason))
    return rows
