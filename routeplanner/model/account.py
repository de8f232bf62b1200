"""Accounts: the customers and prospects a rep visits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from routeplanner.model.calendar import WeeklyHours
from routeplanner.model.geo import GeoPoint
from routeplanner.model.rules import VisitRule
from routeplanner.units import Seconds

_POSTCODE = re.compile(r"(?<![\d-])(\d{4,5})(?![\d-])")


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """A place to visit at a frequency, within its opening hours.

    ``preferred_weekdays`` is a soft wish (scheduling favours those days); ``forbidden_weekdays``
    is hard. Both use ``date.weekday()`` numbering (Monday = 0).

    ``locked_rep_id`` pins the account to one rep: territory design, realignment and assignment
    rules all leave it there (a key customer stays with the person who knows them).
    ``required_qualifications`` are hard too: only a rep carrying every one of them may own it.
    ``postcode`` is kept apart from the free-text address because assignment rules match on it;
    when empty, :attr:`effective_postcode` reads it from the address.
    """

    account_id: str
    name: str
    location: GeoPoint
    visit_rule: VisitRule
    visit_duration_s: Seconds
    opening_hours: WeeklyHours = field(default_factory=WeeklyHours.always)
    address: str = ""
    category: str = ""
    value_class: str = "B"
    preferred_weekdays: frozenset[int] = frozenset()
    forbidden_weekdays: frozenset[int] = frozenset()
    last_visit: date | None = None
    notes: str = ""
    contact: str = ""
    phone: str = ""
    tags: frozenset[str] = frozenset()
    postcode: str = ""
    locked_rep_id: str | None = None
    required_qualifications: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.account_id.strip():
            msg = "account_id must not be empty"
            raise ValueError(msg)
        if self.visit_duration_s <= 0:
            msg = "visit duration must be positive"
            raise ValueError(msg)
        for name, days in (
            ("preferred", self.preferred_weekdays),
            ("forbidden", self.forbidden_weekdays),
        ):
            if any(not 0 <= d <= 6 for d in days):
                msg = f"{name} weekdays must be 0 (Monday) .. 6 (Sunday)"
                raise ValueError(msg)
        if self.preferred_weekdays & self.forbidden_weekdays:
            msg = "a weekday cannot be both preferred and forbidden"
            raise ValueError(msg)

    @property
    def effective_postcode(self) -> str:
        """The postcode column, else the last 4–5 digit group of the address.

        Most account lists carry the postcode only inside the address; rules matching on
        postcode prefixes must work on those lists without a cleanup step. The last group wins
        because house numbers come before the postcode in German, Austrian and Swiss addresses.
        """
        if self.postcode:
            return self.postcode
        found = _POSTCODE.findall(self.address)
        return str(found[-1]) if found else ""

    def visitable_weekdays(self) -> frozenset[int]:
        """Weekdays on which the account is open long enough for one visit and not forbidden."""
        return frozenset(
            d
            for d in range(7)
            if d not in self.forbidden_weekdays
            and self.opening_hours.longest_s(d) >= self.visit_duration_s
        )
