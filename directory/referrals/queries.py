"""Referral reads: one with its history, the mentor's list, the follow-up to-do list."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Row, Select, case, func, select
from sqlalchemy.orm import Session

from directory.accounts.audit import record, record_many
from directory.accounts.models import User
from directory.listings.models import Service
from directory.referrals import lifecycle
from directory.referrals.models import Referral, ReferralEvent
from directory.referrals.notes import NoteCipher, open_consent
from directory.referrals.schemas import EventRead, ReferralPage, ReferralRead
from directory.referrals.service import _scope, visible

STALE_AFTER = dt.timedelta(days=14)


def read_referral(
    session: Session, user: User, referral_id: uuid.UUID, *, cipher: NoteCipher
) -> ReferralRead:
    """One referral with its whole history (audited)."""
    referral = visible(session, user, referral_id)
    events = session.scalars(
        select(ReferralEvent)
        .where(ReferralEvent.referral_id == referral.id)
        .order_by(ReferralEvent.seq)
    )
    history = [
        EventRead(
            seq=e.seq,
            type=e.type,
            at=e.at,
            actor_id=e.actor_id,
            data=e.data,
            text=cipher.open(e.text) if e.text else None,
        )
        for e in events
    ]
    record(session, user, "referral.read", referral)
    return to_read(referral, cipher, history=history)


def to_read(
    referral: Referral | Row[Any],
    cipher: NoteCipher,
    *,
    history: list[EventRead] | None = None,
    with_note: bool = True,
) -> ReferralRead:
    """The API view; lists leave the note out (it is read one referral at a time)."""
    now = dt.datetime.now(dt.UTC)
    open_ = referral.status not in lifecycle.TERMINAL
    return ReferralRead(
        **{name: getattr(referral, name) for name in FIELDS},
        note=cipher.open(referral.note) if referral.note and with_note else None,
        consent=open_consent(referral.consent, cipher),
        overdue=open_ and referral.follow_up_at < now,
        stale=open_ and now - referral.last_event_at > STALE_AFTER,
        history=history,
    )


# What the API view copies from the referral: its fields that are referral columns, but the
# sealed ones it opens (the note and the consent).
OPENED = (Referral.note.key, Referral.consent.key)
FIELDS = tuple(
    name
    for name in ReferralRead.model_fields
    if name in Referral.__table__.c and name not in OPENED
)


def list_referrals(
    session: Session,
    user: User,
    *,
    cipher: NoteCipher,
    status: str | None = None,
    need: str | None = None,
    mentee_ref: str | None = None,
    overdue: bool | None = None,
    page: int = 1,
    per_page: int = 20,
) -> ReferralPage:
    """The referrals the user may see (a mentor: their own), newest first (audited)."""
    query: Select[Any] = select(Referral).where(*_scope(user))
    if status:
        query = query.where(Referral.status == status)
    if need:
        query = query.where(Referral.needs.contains([need]))
    if mentee_ref:
        query = query.where(Referral.mentee_ref == mentee_ref.strip().upper())
    if overdue is not None:
        late = Referral.follow_up_at < func.now()
        is_open = Referral.status.not_in(lifecycle.TERMINAL)
        query = query.where((late & is_open) if overdue else ~(late & is_open))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    found = list(
        session.scalars(
            query.order_by(Referral.created_at.desc(), Referral.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    record_many(session, user, "referral.list", found)
    items = [to_read(r, cipher, with_note=False) for r in found]
    return ReferralPage(items=items, page=page, per_page=per_page, total=total)


def follow_ups(
    session: Session, user: User, *, due_before: dt.datetime, cipher: NoteCipher
) -> list[ReferralRead]:
    """The user's open referrals due for follow-up: urgent first, then the most overdue."""
    query = (
        select(Referral)
        .where(
            *_scope(user),
            Referral.mentor_id == user.id,
            Referral.status.not_in(lifecycle.TERMINAL),
            Referral.follow_up_at <= due_before,
        )
        .order_by(case((Referral.priority == "urgent", 0), else_=1), Referral.follow_up_at)
        .limit(200)
    )
    found = list(session.scalars(query))
    record_many(session, user, "referral.follow-ups", found)
    return [to_read(r, cipher, with_note=False) for r in found]


def service_names(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of the listings referrals point at (for lists of referrals)."""
    if not ids:
        return {}
    rows = session.execute(select(Service.id, Service.name).where(Service.id.in_(set(ids))))
    return {row.id: row.name for row in rows}


def made_with_key(session: Session, mentor: User, key: str) -> uuid.UUID | None:
    """The referral a mentor already made with this Idempotency-Key, if any."""
    return session.scalar(
        select(Referral.id).where(Referral.mentor_id == mentor.id, Referral.idempotency_key == key)
    )
