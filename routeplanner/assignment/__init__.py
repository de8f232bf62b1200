"""Assignment rules and automatic assignment of accounts to territories (pure core, no I/O but
reading the GeoJSON area files a rules file names)."""

from routeplanner.assignment.assign import (
    AssignmentReport,
    AssignMode,
    Decision,
    DecisionCause,
    TerritoryBalance,
    assign_accounts,
)
from routeplanner.assignment.rules import (
    CRITERION_FIELDS,
    Area,
    AssignmentRule,
    Criterion,
    CriterionField,
    is_qualified,
    load_rules_file,
    parse_rules,
    rule_to_data,
    rules_to_data,
    validate_rules,
)

__all__ = [
    "CRITERION_FIELDS",
    "Area",
    "AssignMode",
    "AssignmentReport",
    "AssignmentRule",
    "Criterion",
    "CriterionField",
    "Decision",
    "DecisionCause",
    "TerritoryBalance",
    "assign_accounts",
    "is_qualified",
    "load_rules_file",
    "parse_rules",
    "rule_to_data",
    "rules_to_data",
    "validate_rules",
]
