"""Assignment rules in their order (position 1 is tried first)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import delete, insert, select

from routeplanner.assignment.rules import AssignmentRule, parse_rules, rule_to_data
from routeplanner.errors import InputError, StorageError
from routeplanner.storage.common import AreaRepository, check_ids
from routeplanner.storage.tables import AssignmentRuleRow


class RuleRepository(AreaRepository):
    """The stored assignment rules (``tx.rules``)."""

    def all(self) -> list[AssignmentRule]:
        """The stored assignment rules in order (position 1 first)."""
        with self._session("reading assignment rules") as session:
            rows = list(
                session.scalars(select(AssignmentRuleRow).order_by(AssignmentRuleRow.position))
            )
            data = [row.data for row in rows]
        try:
            return list(parse_rules(data, source="database"))
        except InputError as exc:  # pragma: no cover - only rules that parsed are stored
            msg = f"stored assignment rules are unreadable: {exc}"
            raise StorageError(msg) from exc

    def replace(self, rules: Sequence[AssignmentRule], *, user: str = "") -> None:
        """Make the stored rules exactly ``rules``, in their ``position`` order.

        Rules are stored as given; checking them against territories is
        :func:`routeplanner.assignment.validate_rules`, which callers run first.

        Raises
        ------
        StorageError
            Duplicate or over-long rule ids, duplicate positions, or the database refuses the
            write.
        """
        what = self._what("saving assignment rules")
        check_ids(what, "rule_id", [r.rule_id for r in rules])
        positions = Counter(r.position for r in rules)
        doubled = sorted(p for p, n in positions.items() if n > 1)
        if doubled:
            msg = f"{what}: position {doubled[0]} is used by more than one rule"
            raise StorageError(msg)
        ordered = sorted(rules, key=lambda r: r.position)
        now = self._now()
        with self._session(what, write=True) as session:
            session.execute(delete(AssignmentRuleRow))
            session.flush()
            if ordered:
                session.execute(
                    insert(AssignmentRuleRow),
                    [
                        {
                            "rule_id": rule.rule_id,
                            "position": k,
                            "enabled": rule.enabled,
                            "data": rule_to_data(rule),
                            "updated_at": now,
                            "updated_by": user,
                        }
                        for k, rule in enumerate(ordered, start=1)
                    ],
                )

    def reorder(self, rule_ids: Sequence[str], *, user: str = "") -> list[AssignmentRule]:
        """Put the stored rules in the order of ``rule_ids`` (every stored id exactly once);
        returns them in their new order.

        Raises
        ------
        StorageError
            ``rule_ids`` is not a permutation of the stored ids (missing, unknown, repeated).
        """
        what = self._what("reordering assignment rules")
        now = self._now()
        with self._session(what, write=True) as session:
            rows = {row.rule_id: row for row in session.scalars(select(AssignmentRuleRow))}
            problems = [
                f"rule {r} appears {n} times" for r, n in Counter(rule_ids).items() if n > 1
            ]
            problems += [f"unknown rule {r}" for r in rule_ids if r not in rows]
            problems += [f"rule {r} is missing" for r in sorted(rows.keys() - set(rule_ids))]
            if problems:
                raise StorageError(f"{what}: " + "; ".join(problems))
            kept = [
                (r, rows[r].enabled, rows[r].data, rows[r].updated_at, rows[r].updated_by)
                for r in rule_ids
            ]
            session.execute(delete(AssignmentRuleRow))
            session.flush()
            if kept:
                session.execute(
                    insert(AssignmentRuleRow),
                    [
                        {
                            "rule_id": rule_id,
                            "position": k,
                            "enabled": enabled,
                            "data": data,
                            "updated_at": now if rows[rule_id].position != k else at,
                            "updated_by": user if rows[rule_id].position != k else by,
                        }
                        for k, (rule_id, enabled, data, at, by) in enumerate(kept, start=1)
                    ],
                )
        return self.all()
