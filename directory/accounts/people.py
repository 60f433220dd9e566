"""The people of a program: who has an account, and the changes a coordinator or an admin makes
to one (role, program, deactivation, a fresh sign-in, revoking bearer tokens).

Deactivating someone ends their browser sessions and revokes their tokens at once, and their
sign-in links stop working: an inactive user can do nothing, and nothing of theirs is deleted
(their referrals stay with the program). Each change is in the audit log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from directory.accounts import audit, sessions
from directory.accounts.invites import invite
from directory.accounts.models import ROLES, ApiToken, Program, SignInLink, User
from directory.accounts.service import program_id, valid_email
from directory.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class Person:
    """One account as a list of people shows it."""

    email: str
    role: str
    program: str | None
    active: bool
    signed_up: bool  # has chosen a password (a sign-in link was opened)
    live_tokens: int


def people(
    session: Session, *, program: str | None = None, include_inactive: bool = True
) -> list[Person]:
    """Every account (of one program, when named), by email."""
    tokens = (
        select(func.count())
        .where(ApiToken.user_id == User.id, ApiToken.revoked_at.is_(None))
        .scalar_subquery()
    )
    query = (
        select(User, Program.name, tokens)
        .outerjoin(Program, Program.id == User.program_id)
        .order_by(User.email)
    )
    if program is not None:
        query = query.where(Program.name == " ".join(program.split()))
    if not include_inactive:
        query = query.where(User.active)
    return [
        Person(u.email, u.role, name, u.active, u.password_hash is not None, count)
        for u, name, count in session.execute(query)
    ]


def find(session: Session, email: str) -> User:
    """The account with this email address; NotFound when there is none."""
    user = session.scalars(select(User).where(User.email == valid_email(email))).one_or_none()
    if user is None:
        raise NotFound(f"no account for {email}", field="email")
    return user


def deactivate(session: Session, email: str, *, by: User | None = None) -> User:
    """Take someone's access away at once: sessions ended, tokens revoked, links spent."""
    user = find(session, email)
    user.active = False
    ended = sessions.end_all(session, user)
    revoked = _revoke(session, user)
    _spend_links(session, user)
    _audit(session, by, "user.deactivate", user, sessions=ended, tokens=revoked)
    session.flush()
    return user


def reactivate(session: Session, email: str, *, by: User | None = None) -> User:
    """Give access back (they sign in again with their password, or a fresh link)."""
    user = find(session, email)
    user.active = True
    _audit(session, by, "user.reactivate", user)
    session.flush()
    return user


def set_role(session: Session, email: str, role: str, *, by: User | None = None) -> User:
    """Change someone's role; their sessions end, so the new role applies from their next
    sign-in."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    user = find(session, email)
    before, user.role = user.role, role
    sessions.end_all(session, user)
    _audit(session, by, "user.set_role", user, before=before, after=role)
    session.flush()
    return user


def set_program(
    session: Session, email: str, program: str | None, *, by: User | None = None
) -> User:
    """Move someone to another program (made when new), or out of any (None)."""
    user = find(session, email)
    user.program_id = program_id(session, program) if program else None
    sessions.end_all(session, user)
    _audit(session, by, "user.set_program", user)
    session.flush()
    return user


def revoke_tokens(session: Session, email: str, *, by: User | None = None) -> int:
    """Revoke every live bearer token of someone; how many there were."""
    user = find(session, email)
    revoked = _revoke(session, user)
    _audit(session, by, "user.revoke_tokens", user, tokens=revoked)
    return revoked


def reset_sign_in(session: Session, email: str, *, by: User | None = None) -> tuple[User, str]:
    """A forgotten password, or a lost device: the password goes, sessions end, and a fresh
    one-time sign-in link (its token returned) lets them choose a new one."""
    user = find(session, email)
    if not user.active:
        raise InvalidInput(f"{user.email} is deactivated: reactivate them first", field="email")
    user.password_hash = None
    sessions.end_all(session, user)
    program = session.get(Program, user.program_id) if user.program_id else None
    _, token = invite(
        session, email=user.email, role=user.role, program=program.name if program else None
    )
    _audit(session, by, "user.reset_sign_in", user)
    return user, token


@dataclass(frozen=True)
class _InProgram:
    """What the audit log files a change to an account under: the account's program."""

    program_id: uuid.UUID | None
    id: None = None  # not a referral


def _audit(session: Session, by: User | None, action: str, user: User, **detail: Any) -> None:
    audit.record(session, by, action, _InProgram(user.program_id), user_id=str(user.id), **detail)


def _revoke(session: Session, user: User) -> int:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _spend_links(session: Session, user: User) -> None:
    session.execute(
        update(SignInLink)
        .where(SignInLink.user_id == user.id, SignInLink.used_at.is_(None))
        .values(used_at=dt.datetime.now(dt.UTC))
    )
