"""Invitations: a one-time sign-in link that lets a person choose their password."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from directory.accounts.models import ROLES, SignInLink, User, WebSession
from directory.accounts.passwords import check_new, hash_password
from directory.accounts.service import program_id, valid_email
from directory.errors import Conflict, InvalidInput

VALID_FOR = dt.timedelta(hours=72)
LINK_PATH = "/welcome/"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(
    session: Session, *, email: str, role: str, program: str | None = None
) -> tuple[User, str]:
    """Create the user when new (or find them, same role) and a fresh sign-in link token,
    valid 72 hours and once; earlier unused links of theirs stop working."""
    email = valid_email(email)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    user = session.scalars(select(User).where(User.email == email)).one_or_none()
    wanted_program = program_id(session, program) if program else None
    if user is None:
        user = User(email=email, role=role, program_id=wanted_program)
        session.add(user)
        session.flush()
    elif user.role != role or (program and user.program_id != wanted_program):
        raise Conflict(
            f"{email} is already a {user.role} in another set-up: invite with the same role"
            " and program, or use another email",
            field="email",
        )
    session.execute(
        update(SignInLink)
        .where(SignInLink.user_id == user.id, SignInLink.used_at.is_(None))
        .values(used_at=dt.datetime.now(dt.UTC))
    )
    token = secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.UTC) + VALID_FOR
    session.add(SignInLink(token_hash=_hash(token), user_id=user.id, expires_at=expires))
    session.flush()
    return user, token


def link_url(base_url: str, token: str) -> str:
    """The sign-in link to give the person."""
    return base_url.rstrip("/") + LINK_PATH + token


def pending(session: Session, token: str) -> User | None:
    """The user an unused, unexpired link belongs to."""
    params = {"token_hash": _hash(token), "now": dt.datetime.now(dt.UTC)}
    found = session.execute(_PENDING, params).one_or_none()
    return found[0] if found else None


_PENDING = (
    select(User)
    .join(SignInLink, SignInLink.user_id == User.id)
    .where(
        SignInLink.token_hash == bindparam("token_hash"),
        SignInLink.used_at.is_(None),
        SignInLink.expires_at > bindparam("now", type_=SignInLink.expires_at.type),
        User.active,
    )
)


def accept(session: Session, token: str, password: str) -> User | None:
    """Use the link: set the password it was for. None when the link is no longer valid."""
    now = dt.datetime.now(dt.UTC)
    found = session.execute(
        _PENDING.with_for_update(of=SignInLink), {"token_hash": _hash(token), "now": now}
    ).one_or_none()
    if found is None:
        return None
    user: User = found[0]
    user.password_hash = hash_password(check_new(password, email=user.email))
    # A new password (a reset through a fresh link too) ends the sessions opened with the old.
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.execute(
        update(SignInLink).where(SignInLink.token_hash == _hash(token)).values(used_at=now)
    )
    session.flush()
    return user


DEMO_ACCOUNTS = (
    ("mentor@demo.example.org", "mentor"),
    ("coordinator@demo.example.org", "coordinator"),
)


def demo_accounts(session: Session, *, program: str) -> list[tuple[User, str | None]]:
    """The demo mentor and coordinator (made once, in ``program``), each with a fresh sign-in
    link while they have no password yet (None once they chose one)."""
    found: list[tuple[User, str | None]] = []
    for email, role in DEMO_ACCOUNTS:
        user = session.scalars(select(User).where(User.email == email)).one_or_none()
        if user is not None:
            user.active = True  # back after `directory demo remove`
        if user is not None and user.password_hash is not None:
            found.append((user, None))
            continue
        user, token = invite(session, email=email, role=role, program=program)
        found.append((user, token))
    return found


def retire_demo_accounts(session: Session) -> int:
    """Sign the demo accounts out and turn them off (``directory demo remove``); how many."""
    users = list(session.scalars(select(User).where(User.email.in_([e for e, _ in DEMO_ACCOUNTS]))))
    for user in users:
        user.active = False
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    return len(users)
