"""The audit log: who read or changed which referral, when (no free text, ever)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, false, func, insert, select, true
from sqlalchemy.orm import Session

from directory.accounts.models import AuditEntry, User
from directory.accounts.roles import can
from directory.db import keep_on_failure
from directory.listings.models import Service
from directory.referrals.models import Referral


def record(
    session: Session, actor: User | None, action: str, referral: Any | None = None, **detail: Any
) -> None:
    """One audit row (``referral``: anything with ``id`` and ``program_id``)."""
    record_many(session, actor, action, [referral] if referral is not None else [None], **detail)


def record_many(
    session: Session,
    actor: User | None,
    action: str,
    referrals: Iterable[Any | None],
    **detail: Any,
) -> None:
    """One audit row per referral, in one statement (``actor`` None: the `directory` command)."""
    rows = [
        {
            "actor_id": actor.id if actor else None,
            "program_id": getattr(r, "program_id", None) or (actor.program_id if actor else None),
            "action": action,
            "referral_id": getattr(r, "id", None),
            "detail": detail,
        }
        for r in referrals
    ]
    if rows:
        session.execute(insert(AuditEntry), rows)


def entries(
    session: Session,
    reader: User,
    *,
    referral_id: uuid.UUID | None,
    action: str | None = None,
    actor: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[tuple[AuditEntry, str | None]]:
    """The program's audit rows with the email of who acted (None: the `directory` command, or
    an account since erased), newest first (coordinators; admins read every program's).
    ``action`` matches a whole action or its prefix ("referral." for every referral action);
    ``actor`` is an email."""
    query = (
        select(AuditEntry, User.email)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(_readable(reader))
    )
    if referral_id is not None:
        query = query.where(AuditEntry.referral_id == referral_id)
    if action:
        query = query.where(
            AuditEntry.action.startswith(action)
            if action.endswith(".")
            else AuditEntry.action == action
        )
    if actor:
        query = query.where(User.email == actor.strip().lower())
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    rows = session.execute(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return [(entry, email) for entry, email in rows]


def _readable(reader: User) -> ColumnElement[bool]:
    """The rows the reader may see: their program's; an admin, every program's."""
    if can(reader, "read-all-programs"):
        return true()
    if reader.program_id is None:  # not "IS NULL": the rows of no program are the admins'
        return false()
    return AuditEntry.program_id == reader.program_id


def action_kinds(session: Session, reader: User) -> list[str]:
    """The kinds of action in the log the reader may see ("referral", "report", ...), for a
    filter by prefix."""
    kind = func.split_part(AuditEntry.action, ".", 1)
    query = select(kind).distinct().where(_readable(reader)).order_by(kind)
    return list(session.scalars(query))


def names(session: Session, ids: Iterable[str]) -> dict[str, str]:
    """What audit rows point at, named: a person's email or a listing's name, by its id (as
    text); ids that name nothing (since erased, or not an id) are left out."""
    wanted = set()
    for value in ids:
        try:
            wanted.add(uuid.UUID(str(value)))
        except ValueError:
            continue
    if not wanted:
        return {}
    people = select(User.id, User.email).where(User.id.in_(wanted))
    listings = select(Service.id, Service.name).where(Service.id.in_(wanted))
    return {str(id_): name for id_, name in (*session.execute(people), *session.execute(listings))}


def record_refused(session: Session, actor: User, action: str, referral_id: uuid.UUID) -> None:
    """Audit an attempt that is refused (404, 409, 412, 422): the row is kept though the
    request's transaction rolls back (see ``db.keep_on_failure``). The row goes to the
    referral's program, else the actor's."""
    program = select(Referral.program_id).where(Referral.id == referral_id).scalar_subquery()
    row = insert(AuditEntry).values(
        actor_id=actor.id,
        program_id=func.coalesce(program, actor.program_id),
        action=action,
        referral_id=referral_id,
        detail={},
    )
    keep_on_failure(session, row)
