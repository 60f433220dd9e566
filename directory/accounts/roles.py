"""Who may do what: one table, checked by the service functions and the web pages alike."""

from __future__ import annotations

from typing import Literal

from directory.accounts.models import User
from directory.errors import Forbidden

Action = Literal["refer", "curate", "review-problems", "read-reports"]
ALLOWED: dict[Action, frozenset[str]] = {
    "refer": frozenset({"mentor"}),
    "curate": frozenset({"coordinator", "admin"}),
    "review-problems": frozenset({"coordinator", "admin"}),
    "read-reports": frozenset({"coordinator", "admin"}),
}
WHAT = {
    "refer": "mentors make referrals",
    "curate": "coordinators and admins change listings",
    "review-problems": "coordinators and admins review problem reports",
    "read-reports": "coordinators and admins read reports",
}


def can(user: User, action: Action) -> bool:
    """Whether the user's role allows the action."""
    return user.role in ALLOWED[action]


def require(user: User, action: Action) -> User:
    """The user, when allowed; Forbidden otherwise."""
    if not can(user, action):
        raise Forbidden(f"{WHAT[action]} (you are a {user.role})")
    return user
