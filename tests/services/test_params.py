"""Parameters objects: one rule set, from typed options or from text, every problem at once."""

from __future__ import annotations

from datetime import date

import pytest

from routeplanner.errors import InputError
from routeplanner.model import Horizon
from routeplanner.model.calendar import MAX_HORIZON_WEEKS
from routeplanner.services.assignment import AssignParams
from routeplanner.services.params import PARAMETERS, labelled
from routeplanner.services.planning import PlanParams
from routeplanner.services.territories import SERVER_TIME_LIMIT_S, DesignParams, ServerDesignParams
from routeplanner.services.users import NewUser

MONDAY = date(2026, 11, 23)


def _problems(exc: pytest.ExceptionInfo[InputError]) -> list[tuple[str, str | None, str]]:
    return [(p.source, p.field, p.message) for p in exc.value.problems]


def test_text_reports_parse_range_and_rule_problems_together() -> None:
    texts = {"start": "2026-11-24", "weeks": "14", "time_limit_s": "abc"}
    with pytest.raises(InputError) as exc:
        PlanParams.from_text(texts, source="form")
    assert _problems(exc) == [
        ("form", "time_limit_s", "'abc' is not a number"),
        ("form", "weeks", f"must be 1 to {MAX_HORIZON_WEEKS}, got 14"),
        ("form", "start", "2026-11-24 is not a Monday"),
    ]


def test_empty_text_means_the_default_and_text_keeps_what_was_typed() -> None:
    params = PlanParams.from_text({"start": MONDAY.isoformat(), "weeks": ""}, source="form")
    assert (params.weeks, params.time_limit_s) == (1, 20.0)
    new = NewUser.from_text(
        {"username": "anna", "role": "manager", "password": " spaces count "}, source="form"
    )
    assert new.password == " spaces count "


def test_typed_values_are_checked_by_the_same_rules() -> None:
    with pytest.raises(InputError) as exc:
        PlanParams(start=MONDAY, weeks=MAX_HORIZON_WEEKS + 1)
    assert _problems(exc) == [(PARAMETERS, "weeks", f"must be 1 to {MAX_HORIZON_WEEKS}, got 14")]
    with pytest.raises(InputError, match=r"must be 0\.5 to 600, got nan"):
        PlanParams(start=MONDAY, time_limit_s=float("nan"))


def test_labelled_names_problems_as_the_entry_point_calls_its_options() -> None:
    with pytest.raises(InputError) as exc, labelled("command line", {"value_weight": "--value"}):
        DesignParams(value_weight=-1.0, workload_weight=0.0)
    assert _problems(exc) == [
        ("command line", "--value", "must be 0 to 100, got -1.0"),
    ]
    with pytest.raises(InputError) as exc, labelled("command line", {}):
        DesignParams(value_weight=0.0, workload_weight=0.0, objective="nearest")
    assert _problems(exc) == [
        ("command line", "objective", "must be one of home, centre"),
        ("command line", "workload_weight", "and the value weight are both 0"),
    ]


def test_one_horizon_limit_for_plans_and_the_model() -> None:
    Horizon(start=MONDAY, weeks=MAX_HORIZON_WEEKS)
    with pytest.raises(ValueError, match=f"1..{MAX_HORIZON_WEEKS}, got {MAX_HORIZON_WEEKS + 1}"):
        Horizon(start=MONDAY, weeks=MAX_HORIZON_WEEKS + 1)


def test_tolerances_are_percent_everywhere() -> None:
    assert DesignParams(tolerance_pct=5).tolerance == pytest.approx(0.05)
    assert AssignParams.from_text({"tolerance_pct": "2,5"}, source="form").tolerance == 0.025
    with pytest.raises(InputError, match=r"must be 0\.5 to 50, got 80"):
        AssignParams.from_text({"tolerance_pct": "80"}, source="form")
    with pytest.raises(InputError, match="mode: must be new or all, not 'some'"):
        AssignParams.from_text({"mode": "some"}, source="form")


def test_a_territory_job_on_the_server_has_a_lower_limit_and_default() -> None:
    """The page's and API's limit bounds the whole job (a worker thread is held that long);
    the command line may give more, or leave the method's own default."""
    assert ServerDesignParams.from_text({}, source="api").time_limit_s == SERVER_TIME_LIMIT_S
    with pytest.raises(InputError, match=r"must be 0\.5 to 120, got 500"):
        ServerDesignParams.from_text({"time_limit_s": "500"}, source="api")
    assert DesignParams(time_limit_s=500).time_limit_s == 500
    assert DesignParams().time_limit_s is None
    with pytest.raises(InputError, match=r"must be 0\.5 to 86400, got 100000"):
        DesignParams(time_limit_s=100_000)
