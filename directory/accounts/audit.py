"""The audit log: who read or changed which referral, when (no free text, ever)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, false, func, insert, select, text, true
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from directory.accounts.models import AuditEntry, User
from directory.listings.models import Service

log = logging.getLogger(__name__)


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
    if reader.role == "admin":
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
    """Audit an attempt that is refused (404, 409, 412, 422): in a transaction of its own, since
    the request's rolls back. The row goes to the referral's program, else the actor's."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    try:
        program = session.execute(  # the request's view: what the caller asked about
            text("SELECT program_id FROM referral WHERE id = :id"), {"id": referral_id}
        ).scalar_one_or_none()
        with Session(engine) as own, own.begin():
            own.execute(
                insert(AuditEntry).values(
                    actor_id=actor.id,
                    program_id=program or actor.program_id,
                    action=action,
                    referral_id=referral_id,
                    detail={},
                )
            )
    except SQLAlchemyError:  # the answer to the caller does not depend on the log's health
        log.exception("could not audit a refused %s on %s", action, referral_id)
