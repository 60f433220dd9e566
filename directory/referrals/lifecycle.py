"""The referral lifecycle (FHIR Task, HL7 SDOH Clinical Care): statuses, moves, and what each
move needs."""

from __future__ import annotations

STATUSES = (
    "requested",
    "accepted",
    "rejected",
    "cancelled",
    "in-progress",
    "on-hold",
    "completed",
    "failed",
    "entered-in-error",
)
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
SUB_STATUSES = ("appointment-scheduled", "waitlisted", "appointment-missed", "needs-mentee-action")


def next_statuses(status: str) -> frozenset[str]:
    """Where a referral in ``status`` may go: the table, plus entered-in-error from anywhere."""
    if status == "entered-in-error":
        return frozenset()
    return MOVES.get(status, frozenset()) | {"entered-in-error"}
