"""Calendar feed state: the stable identity of a planned visit across plan versions.

Visit ids (``account@day``) change when a visit moves to another day, but a calendar app must see
the *same* event (same UID) moved, with a higher SEQUENCE. A :class:`FeedEntry` is that stable
identity: one per (rep, account, occurrence), kept from one plan version to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class FeedStatus(StrEnum):
    """iCalendar STATUS of the event; the value is stored."""

    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedEntry:
    """One calendar event of a rep's feed as last published.

    ``content`` holds the rendered fields (strings) so a cancelled visit can still be sent with
    its last known time and place; ``content_hash`` decides whether a re-plan changed anything.
    """

    rep_id: str
    account_id: str
    uid: str
    day: date
    sequence: int
    status: FeedStatus
    content_hash: str
    modified_at: datetime
    cancelled_at: datetime | None = None
    content: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.sequence < 0:
            msg = "sequence must not be negative"
            raise ValueError(msg)
        if (self.status is FeedStatus.CANCELLED) != (self.cancelled_at is not None):
            msg = "cancelled_at must be set exactly when the status is CANCELLED"
            raise ValueError(msg)
