"""The plan in force: what reports, field views and learning read the planned day from."""

from __future__ import annotations

from routeplanner.errors import InputError, Problem
from routeplanner.model import Horizon
from routeplanner.model.plan import Plan
from routeplanner.storage import Store


def no_current_plan() -> InputError:
    """What a use case that needs a current plan raises before the first one."""
    return InputError(Problem("database", None, "plan", "no current plan: run `plan` first"))


def current_plan(store: Store) -> tuple[int, Plan, Horizon]:
    """The current plan with its id and horizon, or an InputError: nothing planned yet."""
    current = store.plans.current()
    if current is None:
        raise no_current_plan()
    plan_id, plan = current
    return plan_id, plan, store.plans.info(plan_id).horizon
