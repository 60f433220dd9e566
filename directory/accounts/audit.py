"""The audit log: who read or changed which referral, when (no free text, ever)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from directory.accounts.models import AuditEntry, User


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
    session: Session, reader: User, *, referral_id: uuid.UUID | None, limit: int = 500
) -> list[AuditEntry]:
    """The program's audit rows, newest first (coordinators and admins)."""
    query = select(AuditEntry).where(AuditEntry.program_id == reader.program_id)
    if referral_id is not None:
        query = query.where(AuditEntry.referral_id == referral_id)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
