"""Reading and writing user files (CSV/XLSX import with row/field errors, exports).

Formats are documented in ``docs/data-formats.md``. Every reader either returns complete,
validated domain objects or raises one :class:`~routeplanner.errors.InputError` listing every
problem (file, spreadsheet row, column, message).
"""

from routeplanner.io.accounts import (
    ACCOUNT_COLUMNS,
    accounts_to_csv,
    read_accounts,
    read_accounts_bytes,
    write_accounts_csv,
    write_accounts_xlsx,
)
from routeplanner.io.opening_hours import (
    format_opening_hours,
    parse_opening_hours,
    parse_time_range,
    parse_weekdays,
)
from routeplanner.io.reps import (
    REP_COLUMNS,
    format_days_off,
    parse_days_off,
    read_reps,
    read_reps_bytes,
    reps_to_csv,
    write_reps_csv,
    write_reps_xlsx,
)

__all__ = [
    "ACCOUNT_COLUMNS",
    "REP_COLUMNS",
    "accounts_to_csv",
    "format_days_off",
    "format_opening_hours",
    "parse_days_off",
    "parse_opening_hours",
    "parse_time_range",
    "parse_weekdays",
    "read_accounts",
    "read_accounts_bytes",
    "read_reps",
    "read_reps_bytes",
    "reps_to_csv",
    "write_accounts_csv",
    "write_accounts_xlsx",
    "write_reps_csv",
    "write_reps_xlsx",
]
