"""The people of a program: who has an account, and the changes a coordinator or an admin makes
to one (an invitation, role, program, deactivation, a fresh sign-in, revoking bearer tokens).

Deactivating someone ends their browser sessions and revokes their tokens at once, and their
sign-in links stop working: an inactive user can do nothing, and nothing of theirs is deleted
(their referrals stay with the program). Each change is in the audit log.

Who may do what (``by``; None is the `directory` command, which may do everything: whoever runs
it holds the database, and it is how a locked-out deployment makes its first admin again):
- coordinators act on the mentors and coordinators of their own program only, never make anyone
  an admin and never move anyone to another program; admins act on everyone;
- nobody changes their own role, program or access, nor resets their own sign-in: someone else
  does. So a coordinator or admin acting always leaves at least themselves able to act, and no
  program (nor the deployment) is locked out by a page.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from directory.accounts import audit, roles, sessions
from directory.accounts.invites import invite
from directory.accounts.models import ROLES, ApiToken, Program, SignInLink, User, WebSession
from directory.accounts.service import InProgram, program_id, valid_email
from directory.errors import Conflict, Forbidden, InvalidInput, NotFound


@dataclass(frozen=True)
class Person:
    """One account as a list of people shows it."""

    email: str
    role: str
    program: str | None
    active: bool
    signed_up: bool  # has chosen a password (a sign-in link was opened)
    live_tokens: int
    id: uuid.UUID
    last_sign_in: dt.datetime | None  # known while one of their sessions lasts

    @property
    def status(self) -> str:
        """active, deactivated, or invited (no password chosen yet)."""
        if not self.active:
            return "deactivated"
        return "active" if self.signed_up else "invited"


def people(
    session: Session,
    *,
    program: str | None = None,
    in_program: uuid.UUID | None = None,
    include_inactive: bool = True,
    by: User | None = None,
) -> list[Person]:
    """Every account (of one program, when named or given by id), by email; ``by`` a
    coordinator: their own program's mentors and coordinators only."""
    query = _people()
    if by is not None and not _all_programs(by):
        if by.program_id is None:  # a coordinator of no program has nobody to manage
            return []
        query = query.where(User.program_id == by.program_id, User.role != "admin")
    if program is not None:
        query = query.where(Program.name == " ".join(program.split()))
    if in_program is not None:
        query = query.where(User.program_id == in_program)
    if not include_inactive:
        query = query.where(User.active)
    return [_person(row) for row in session.execute(query)]


def person(session: Session, user_id: uuid.UUID, *, by: User) -> Person:
    """One account as ``by`` may see it (their program's, unless an admin)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no account {user_id}")
    _check(by, user, self_ok=True)
    return _person(session.execute(_people().where(User.id == user_id)).one())


def _people() -> Select[Any]:
    tokens = (
        select(func.count())
        .where(ApiToken.user_id == User.id, ApiToken.revoked_at.is_(None))
        .scalar_subquery()
    )
    last = select(func.max(WebSession.created_at)).where(WebSession.user_id == User.id)
    return (
        select(User, Program.name, tokens, last.scalar_subquery())
        .outerjoin(Program, Program.id == User.program_id)
        .order_by(User.email)
    )


def _person(row: Any) -> Person:
    u, name, count, last = row
    signed = u.password_hash is not None
    return Person(u.email, u.role, name, u.active, signed, count, u.id, last)


def invite_person(
    session: Session,
    *,
    email: str,
    role: str,
    program: str | None = None,
    by: User | None,
    again: bool = False,
) -> tuple[User, str]:
    """Invite someone new (a coordinator: to their own program, as a mentor or coordinator);
    the user and their one-time sign-in link's token. ``again`` (the command line) sends
    someone already invited a fresh link, in the same role and program."""
    email = valid_email(email)
    if by is not None:
        roles.require(by, "manage-people")
        if role == "admin":
            roles.require(by, "manage-all-programs")
        if not _all_programs(by):
            program = _own_program(session, by).name
    if not again and session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(
            f"{email} already has an account: open it to reset their sign-in", field="email"
        )
    user, token = invite(session, email=email, role=role, program=program or None)
    _audit(session, by, "user.invite", user, role=role)
    return user, token


def find(session: Session, email: str) -> User:
    """The account with this email address; NotFound when there is none."""
    user = session.scalars(select(User).where(User.email == valid_email(email))).one_or_none()
    if user is None:
        raise NotFound(f"no account for {email}", field="email")
    return user


def deactivate(session: Session, email: str, *, by: User | None = None) -> User:
    """Take someone's access away at once: sessions ended, tokens revoked, links spent."""
    user = _check(by, find(session, email))
    user.active = False
    ended = sessions.end_all(session, user)
    revoked = _revoke(session, user)
    _spend_links(session, user)
    _audit(session, by, "user.deactivate", user, sessions=ended, tokens=revoked)
    session.flush()
    return user


def reactivate(session: Session, email: str, *, by: User | None = None) -> User:
    """Give access back (they sign in again with their password, or a fresh link)."""
    user = _check(by, find(session, email))
    user.active = True
    _audit(session, by, "user.reactivate", user)
    session.flush()
    return user


def set_role(session: Session, email: str, role: str, *, by: User | None = None) -> User:
    """Change someone's role; their sessions end, so the new role applies from their next
    sign-in."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    user = _check(by, find(session, email))
    if by is not None and role == "admin":
        roles.require(by, "manage-all-programs")
    before, user.role = user.role, role
    sessions.end_all(session, user)
    _audit(session, by, "user.set_role", user, before=before, after=role)
    session.flush()
    return user


def set_program(
    session: Session, email: str, program: str | None, *, by: User | None = None
) -> User:
    """Move someone to another program (made when new), or out of any (None)."""
    if by is not None:
        roles.require(by, "manage-all-programs")
    user = _check(by, find(session, email))
    user.program_id = program_id(session, program) if program else None
    sessions.end_all(session, user)
    _audit(session, by, "user.set_program", user)
    session.flush()
    return user


def revoke_tokens(session: Session, email: str, *, by: User | None = None) -> int:
    """Revoke every live bearer token of someone; how many there were."""
    user = _check(by, find(session, email), self_ok=True)
    revoked = _revoke(session, user)
    _audit(session, by, "user.revoke_tokens", user, tokens=revoked)
    return revoked


def reset_sign_in(session: Session, email: str, *, by: User | None = None) -> tuple[User, str]:
    """A forgotten password, or a lost device: the password goes, sessions end, and a fresh
    one-time sign-in link (its token returned) lets them choose a new one."""
    user = _check(by, find(session, email))
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


def _check(by: User | None, user: User, *, self_ok: bool = False) -> User:
    """The user, when ``by`` may act on them (see the module's rules); Forbidden otherwise."""
    if by is None:
        return user
    roles.require(by, "manage-people")
    if user.id == by.id and not self_ok:
        raise Forbidden(
            "you cannot change your own role, program or access: another coordinator or an"
            " admin does it"
        )
    if not _all_programs(by) and (
        user.role == "admin" or by.program_id is None or user.program_id != by.program_id
    ):
        raise Forbidden("coordinators manage the people of their own program only")
    return user


def _all_programs(by: User) -> bool:
    return roles.can(by, "manage-all-programs")


def _own_program(session: Session, by: User) -> Program:
    found = session.get(Program, by.program_id) if by.program_id else None
    if found is None:
        raise Forbidden("you are not a member of a program: ask an admin to add you")
    return found


def _audit(session: Session, by: User | None, action: str, user: User, **detail: Any) -> None:
    audit.record(session, by, action, InProgram(user.program_id), user_id=str(user.id), **detail)


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
