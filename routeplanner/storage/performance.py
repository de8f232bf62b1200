"""Sales figures per account and month (``tx.sales``) and targets per territory or rep and
month (``tx.targets``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

from sqlalchemy import and_, case, delete, func, select

from routeplanner.model.performance import FigureScope, SalesFigure, Target, TargetScope
from routeplanner.storage.common import AreaRepository, chunks, in_scope
from routeplanner.storage.tables import AccountRow, SalesFigureRow, TargetRow


class SalesRepository(AreaRepository):
    """Monthly sales figures (``tx.sales``)."""

    def replace_periods(self, figures: Sequence[SalesFigure], *, source: str) -> int:
        """Make the stored figures of every month in ``figures`` exactly ``figures``' (an
        import of a month replaces it; other months stay). Returns how many rows were
        removed."""
        periods = sorted({f.period for f in figures})
        with self._session(self._what(f"importing sales from {source}"), write=True) as session:
            removed = 0
            for chunk in chunks(periods):
                result = session.execute(
                    delete(SalesFigureRow).where(SalesFigureRow.period.in_(chunk))
                )
                removed += int(getattr(result, "rowcount", 0) or 0)
            now = self._now()
            session.add_all(
                SalesFigureRow(
                    account_id=f.account_id,
                    period=f.period,
                    product_line=f.product_line,
                    revenue=f.revenue,
                    order_count=f.order_count,
                    source=source,
                    imported_at=now,
                )
                for f in figures
            )
            return removed

    def find(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        account_ids: Collection[str] | None = None,
        scope: FigureScope | None = None,
    ) -> list[SalesFigure]:
        """Figures of months from ``start`` to ``end`` (inclusive, first days), by month,
        account and product line; ``account_ids`` or ``scope`` narrow to those accounts."""
        row = SalesFigureRow
        query = select(row.account_id, row.period, row.revenue, row.order_count, row.product_line)
        if start is not None:
            query = query.where(SalesFigureRow.period >= start)
        if end is not None:
            query = query.where(SalesFigureRow.period <= end)
        if account_ids is not None:
            query = query.where(SalesFigureRow.account_id.in_(sorted(set(account_ids))))
        if scope is not None:
            query = query.where(in_scope(SalesFigureRow.account_id, scope))
        query = query.order_by(
            SalesFigureRow.period, SalesFigureRow.account_id, SalesFigureRow.product_line
        )
        with self._session("reading sales figures") as session:
            return [
                SalesFigure(
                    account_id=row.account_id,
                    period=row.period,
                    revenue=row.revenue,
                    order_count=row.order_count,
                    product_line=row.product_line,
                )
                for row in session.execute(query)
            ]

    def revenue_by_class(
        self, windows: Sequence[tuple[date, date]]
    ) -> list[tuple[dict[str, float], int]]:
        """For each window of months (``start`` to ``end``, inclusive): revenue of the stored
        accounts per value class, and how many of the window's months have any figure; one
        scan of the figures."""
        row = SalesFigureRow
        sums = [
            func.sum(case((and_(row.period >= s, row.period <= e), row.revenue), else_=0.0))
            for s, e in windows
        ]
        totals = (
            select(AccountRow.value_class, *sums)
            .join(AccountRow, AccountRow.account_id == row.account_id)
            .where(
                row.period >= min(s for s, _ in windows), row.period <= max(e for _, e in windows)
            )
            .group_by(AccountRow.value_class)
        )
        found: list[tuple[dict[str, float], int]] = []
        with self._session("reading sales totals") as session:
            by_class = session.execute(totals).all()
            for i, (start, end) in enumerate(windows):
                months = select(func.count(func.distinct(row.period))).where(
                    row.period >= start, row.period <= end
                )
                found.append(
                    (
                        {r[0]: float(r[i + 1] or 0.0) for r in by_class},
                        int(session.scalar(months) or 0),
                    )
                )
        return found

    def month_totals(self) -> list[tuple[date, float, int]]:
        """(month, revenue, rows) of every month with any figure, newest first."""
        query = (
            select(SalesFigureRow.period, func.sum(SalesFigureRow.revenue), func.count())
            .group_by(SalesFigureRow.period)
            .order_by(SalesFigureRow.period.desc())
        )
        with self._session("reading sales totals") as session:
            return [(p, float(r or 0.0), int(n)) for p, r, n in session.execute(query)]

    def count(self) -> int:
        with self._session("counting sales figures") as session:
            return int(session.scalar(select(func.count()).select_from(SalesFigureRow)) or 0)


class TargetRepository(AreaRepository):
    """Targets per territory or rep and month (``tx.targets``)."""

    def save(self, targets: Sequence[Target], *, user: str = "") -> None:
        """Store ``targets``, replacing any stored for the same scope, id and month."""
        with self._session(self._what("saving targets"), write=True) as session:
            now = self._now()
            for t in targets:
                row = session.scalars(
                    select(TargetRow).where(
                        TargetRow.scope == t.scope.value,
                        TargetRow.scope_id == t.scope_id,
                        TargetRow.period == t.period,
                    )
                ).first()
                if row is None:
                    row = TargetRow(scope=t.scope.value, scope_id=t.scope_id, period=t.period)
                    session.add(row)
                row.revenue = t.revenue
                row.visits_done = t.visits_done
                row.coverage = t.coverage
                row.new_accounts = t.new_accounts
                row.updated_at = now
                row.updated_by = user

    def find(self, *, start: date | None = None, end: date | None = None) -> list[Target]:
        """Targets of months from ``start`` to ``end`` (inclusive), by month, scope and id."""
        query = select(TargetRow)
        if start is not None:
            query = query.where(TargetRow.period >= start)
        if end is not None:
            query = query.where(TargetRow.period <= end)
        query = query.order_by(TargetRow.period, TargetRow.scope, TargetRow.scope_id)
        with self._session("reading targets") as session:
            return [
                Target(
                    scope=TargetScope(row.scope),
                    scope_id=row.scope_id,
                    period=row.period,
                    revenue=row.revenue,
                    visits_done=row.visits_done,
                    coverage=row.coverage,
                    new_accounts=row.new_accounts,
                )
                for row in session.scalars(query)
            ]

    def delete(self, scope: TargetScope, scope_id: str, period: date) -> bool:
        """Remove one stored target (its figures go back to their defaults)."""
        with self._session(self._what("removing a target"), write=True) as session:
            result = session.execute(
                delete(TargetRow).where(
                    TargetRow.scope == scope.value,
                    TargetRow.scope_id == scope_id,
                    TargetRow.period == period,
                )
            )
            return bool(getattr(result, "rowcount", 0))
