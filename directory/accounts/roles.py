"""Who may do what: one table, checked by the service functions and the web pages alike."""

from __future__ import annotations

import uuid
from typing import Literal

from directory.accounts.models import User
from directory.errors import Forbidden

Action = Literal[
    "refer",
    "curate",
    "review-problems",
    "read-reports",
    "read-audit",
    "set-code-pattern",
    "answer-mentee-requests",
    "manage-people",
    "manage-all-programs",
    "manage-keys",
    "read-all-programs",
    "read-program-referrals",
]
STAFF = frozenset({"coordinator", "admin"})
ALLOWED: dict[Action, frozenset[str]] = {
    "refer": frozenset({"mentor"}),
    "curate": STAFF,
    "review-problems": STAFF,
    "read-reports": STAFF,
    "read-audit": STAFF,
    "set-code-pattern": STAFF,
    "answer-mentee-requests": STAFF,
    "manage-people": STAFF,
    "manage-all-programs": frozenset({"admin"}),
    # Keys read only what is published, from their own origins, within their rate: a program's
    # coordinator may give one to a partner site (and revoke a leaked one) without an admin.
    "manage-keys": STAFF,
    "read-all-programs": frozenset({"admin"}),
    "read-program-referrals": STAFF,
}
WHAT: dict[Action, str] = {
    "refer": "mentors make referrals",
    "curate": "only coordinators and admins change listings",
    "review-problems": "coordinators and admins review problem reports",
    "read-reports": "coordinators and admins read reports",
    "read-audit": "coordinators read the audit log",
    "set-code-pattern": "coordinators set the program's code pattern",
    "answer-mentee-requests": "a program's coordinator answers access and erasure requests",
    "manage-people": "coordinators and admins manage people",
    "manage-all-programs": "only admins manage other programs, make admins or move people"
    " between programs",
    "manage-keys": "coordinators and admins manage partner keys",
    "read-all-programs": "only admins read every program's reports, queue and audit",
    "read-program-referrals": "a mentor reads their own referrals; staff, their program's",
}


def can(user: User, action: Action) -> bool:
    """Whether the user's role allows the action."""
    return user.role in ALLOWED[action]


def require(user: User, action: Action) -> User:
    """The user, when allowed; Forbidden otherwise."""
    if not can(user, action):
        raise Forbidden(f"{WHAT[action]} (you are a {user.role})")
    return user


def in_reach(user: User, program_id: uuid.UUID | None) -> bool:
    """Whether something of a program is the user's to read or decide: an admin's, anything;
    anyone else's, only their own program's (never the rows of no program)."""
    if can(user, "read-all-programs"):
        return True
    return user.program_id is not None and program_id == user.program_id
