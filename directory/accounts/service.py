"""Accounts: create users with a bearer token, find the user behind a token, and programs (their
name and what their mentee codes look like)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, literal, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from directory.accounts import audit, roles
from directory.accounts.models import ROLES, ApiToken, Program, User
from directory.errors import Conflict, Forbidden, InvalidInput, NotFound

TOKEN_PREFIX = "dir_"


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session, *, email: str, role: str, program: str | None = None
) -> tuple[User, str]:
    """Create a user (in a program, made if new) and its first token; the token is returned
    once and stored hashed."""
    email = valid_email(email)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email} exists", field="email")
    user = User(
        email=email, role=role, program_id=program_id(session, program) if program else None
    )
    session.add(user)
    session.flush()
    return user, issue_token(session, user)


def valid_email(email: str) -> str:
    """The address, trimmed and lower-cased; InvalidInput when it is not one."""
    text = email.strip().lower()
    name, _, domain = text.partition("@")
    if not name or "." not in domain or " " in text or len(text) > 320:
        raise InvalidInput(f"not an email address: {text[:80]!r}", field="email")
    return text


def program_id(session: Session, name: str) -> uuid.UUID:
    """The id of the program with this name, made when new."""
    text = " ".join(name.split())
    if not text or len(text) > 200:
        raise InvalidInput("a program name is 1 to 200 characters", field="program")
    found = session.scalar(select(Program.id).where(Program.name == text))
    if found is None:
        program = Program(name=text)
        session.add(program)
        session.flush()
        found = program.id
    return found


def issue_token(session: Session, user: User) -> str:
    """A new random bearer token for a user."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    session.flush()
    return token


def user_for_token(
    session: Session, token: str, *, lifetime: dt.timedelta | None = None
) -> User | None:
    """The active user a live token belongs to, if any: not revoked, and (with ``lifetime``)
    made less than that long ago."""
    oldest = dt.datetime.now(dt.UTC) - lifetime if lifetime else NEVER
    found = session.scalars(_BY_TOKEN, {"token_hash": hash_token(token), "oldest": oldest})
    return found.one_or_none()


NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# Every request runs it: built once (building a statement costs as much as running this one).
_BY_TOKEN = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.created_at > bindparam("oldest"),
        User.active,
    )
)


def set_code_pattern(session: Session, program: Program | str, pattern: str | None) -> Program:
    """Set (None: clear) what a program's mentee codes look like: a PostgreSQL regular
    expression, matched whole and without regard to case. Refused when it is not valid.
    ``program``: the program, or its name."""
    if isinstance(program, Program):
        found: Program | None = program
    else:
        query = select(Program).where(Program.name == program.strip())
        found = session.scalars(query).one_or_none()
    if found is None:
        raise InvalidInput(f"no program named {program!r}", field="program")
    found.mentee_ref_pattern = None if pattern is None else valid_pattern(session, pattern)
    return found


def valid_pattern(session: Session, pattern: str) -> str:
    """A code pattern, trimmed, once PostgreSQL compiled it; InvalidInput otherwise."""
    pattern = pattern.strip()
    if not 1 <= len(pattern) <= 200:
        raise InvalidInput("a code pattern is 1 to 200 characters", field="pattern")
    try:
        # PostgreSQL compiles it (its dialect is the one used), alone too: a pattern such as
        # "A[0-9])|(.*" compiles only inside the wrapper, where it would match anything.
        with session.begin_nested():
            for whole in (pattern, f"^(?:{pattern})$"):
                session.execute(select(literal("").regexp_match(whole, flags="i")))
    except DBAPIError as error:
        raise InvalidInput(
            f"not a valid regular expression: {error.orig}", field="pattern"
        ) from None
    return pattern


@dataclass(frozen=True)
class InProgram:
    """What the audit log files a change under: a program (not a referral)."""

    program_id: uuid.UUID | None
    id: None = None  # not a referral


def programs(session: Session) -> list[Program]:
    """Every program, by name."""
    return list(session.scalars(select(Program).order_by(Program.name)))


def program_of(session: Session, by: User, wanted: uuid.UUID | None = None) -> Program:
    """The program ``by`` runs: their own (a coordinator asking for another is refused); an
    admin's choice (``wanted``; else their own, else the first by name)."""
    roles.require(by, "set-code-pattern")
    if wanted is not None and wanted != by.program_id:
        roles.require(by, "manage-all-programs")
    chosen = wanted or by.program_id
    found = session.get(Program, chosen) if chosen is not None else None
    if found is None and chosen is None and roles.can(by, "manage-all-programs"):
        found = session.scalars(select(Program).order_by(Program.name).limit(1)).first()
    if found is None:
        raise NotFound("you are not a member of a program: ask an admin to add you")
    return found


def update_program(
    session: Session, program: Program, *, name: str, pattern: str | None, by: User
) -> Program:
    """Rename a program and set (None: clear) its code pattern, audited (its coordinators
    and admins). Both are checked before either changes (a page answers a refusal with a 422,
    whose transaction commits)."""
    if program.id != by.program_id and not roles.can(by, "manage-all-programs"):
        raise Forbidden(roles.WHAT["manage-all-programs"])
    roles.require(by, "set-code-pattern")
    text = " ".join(name.split())
    if not text or len(text) > 200:
        raise InvalidInput("a program name is 1 to 200 characters", field="name")
    if text != program.name and session.scalar(select(Program.id).where(Program.name == text)):
        raise Conflict(f"another program is named {text}", field="name")
    checked = valid_pattern(session, pattern) if pattern is not None else None
    if text != program.name:
        audit.record(session, by, "program.rename", InProgram(program.id))
        program.name = text
    if checked != program.mentee_ref_pattern:
        audit.record(session, by, "program.code-pattern", InProgram(program.id))
        program.mentee_ref_pattern = checked
    session.flush()
    return program


def code_refusal(session: Session, pattern: str | None, code: str) -> str | None:
    """Why a referral would refuse this mentee code under the pattern (None: accepted): the
    general rules of a code first, then the pattern, as PostgreSQL matches it. InvalidInput
    when the pattern itself is not valid."""
    from directory.referrals.schemas import mentee_ref  # referrals build on accounts

    checked = valid_pattern(session, pattern) if pattern else None
    try:
        text = mentee_ref(code)
    except ValueError as error:
        return str(error)
    whole = f"^(?:{checked})$"
    if checked and not session.scalar(select(literal(text).regexp_match(whole, flags="i"))):
        return f"mentee_ref does not look like your program's codes (the pattern {checked})"
    return None
