"""The referral lifecycle (FHIR Task, HL7 SDOH Clinical Care): statuses, moves, and what each
move needs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from directory.types import REFERRAL_STATUSES as STATUSES
from directory.types import SUB_STATUSES

__all__ = ["STATUSES", "SUB_STATUSES", "closing", "next_statuses"]

TERMINAL = frozenset({"completed", "failed", "rejected", "cancelled", "entered-in-error"})
MOVES: dict[str, frozenset[str]] = {
    "requested": frozenset({"accepted", "rejected", "cancelled"}),
    "accepted": frozenset({"in-progress", "on-hold", "completed", "failed", "cancelled"}),
    "in-progress": frozenset({"on-hold", "completed", "failed", "cancelled"}),
    "on-hold": frozenset({"in-progress", "completed", "failed", "cancelled"}),
}
NEEDS_REASON = frozenset({"rejected", "cancelled", "failed", "on-hold"})
CONNECTED = ("got-help", "enrolled", "referred-elsewhere")
NOT_CONNECTED = (
    "could-not-contact",
    "not-eligible",
    "no-capacity",
    "no-show",
    "no-longer-interested",
    "other",
)
OUTCOMES = {"completed": CONNECTED, "failed": NOT_CONNECTED}
ATTEMPTS_BEFORE_COULD_NOT_CONTACT = 3


def next_statuses(status: str) -> frozenset[str]:
    """Where a referral in ``status`` may go: the table, plus entered-in-error from anywhere."""
    if status == "entered-in-error":
        return frozenset()
    return MOVES.get(status, frozenset()) | {"entered-in-error"}


def closing(now: dt.datetime) -> dict[str, Any]:
    """What a referral's end changes besides its status: it is closed now, its sub-status
    (a waitlist, an appointment) is over, and no follow-up is pending. ``follow_up_at`` is a
    required column, so it becomes the closing time rather than nothing: never overdue, and
    the due time the mentor had is kept in the events."""
    return {"closed_at": now, "sub_status": None, "follow_up_at": now}
