"""Privacy operations: the retention purge, and a mentee's access and erasure requests.

- Purge: closed referrals past retention lose every free text (the note, event texts, the
  consent's wording) and their mentee code; statuses, outcomes, dates and needs stay, so the
  outcome figures do not change.
- Access request: a coordinator exports every referral of one mentee code in the program,
  with its history, decrypted.
- Erasure request: a coordinator deletes every referral of one mentee code in the program,
  events included. The audit log keeps who did what and when (it never holds free text).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from directory.accounts.audit import record, record_many
from directory.accounts.models import User
from directory.accounts.roles import require
from directory.errors import Forbidden, InvalidInput
from directory.referrals import lifecycle
from directory.referrals.models import Referral, ReferralEvent
from directory.referrals.notes import NoteCipher
from directory.referrals.queries import read_referral
from directory.referrals.schemas import ReferralRead, mentee_ref

PURGED_REF = "purged"


def purge(session: Session, *, older_than: dt.timedelta) -> int:
    """Strip the free text of referrals closed before ``now - older_than``; how many."""
    cutoff = dt.datetime.now(dt.UTC) - older_than
    due = list(
        session.scalars(
            select(Referral).where(
                Referral.status.in_(lifecycle.TERMINAL),
                Referral.closed_at < cutoff,
                Referral.mentee_ref != PURGED_REF,
            )
        )
    )
    if not due:
        return 0
    ids = [r.id for r in due]
    session.execute(
        update(ReferralEvent)
        .where(ReferralEvent.referral_id.in_(ids), ReferralEvent.text.is_not(None))
        .values(text=None)
    )
    for referral in due:
        referral.note = None
        referral.mentee_ref = PURGED_REF
        referral.idempotency_key = referral.request_hash = None  # both could lead back
        referral.consent = {k: referral.consent.get(k) for k in ("method", "obtained_at")}
    session.flush()
    record_many(session, None, "referral.purge", due, older_than_days=older_than.days)
    return len(due)


def _coordinator(user: User) -> User:
    if user.program_id is None:
        raise Forbidden("a program's coordinator answers access and erasure requests")
    return require(user, "answer-mentee-requests")


def _of_mentee(session: Session, user: User, ref: str) -> list[Referral]:
    try:
        code = mentee_ref(ref)
    except ValueError as error:
        raise InvalidInput(str(error), field="mentee_ref") from None
    return list(
        session.scalars(
            select(Referral)
            .where(Referral.program_id == user.program_id, Referral.mentee_ref == code)
            .order_by(Referral.created_at)
        )
    )


def export(session: Session, user: User, ref: str, *, cipher: NoteCipher) -> list[ReferralRead]:
    """Every referral of a mentee code in the coordinator's program, with its history."""
    found = _of_mentee(session, _coordinator(user), ref)
    record(session, user, "mentee.export", None, count=len(found))
    return [read_referral(session, user, r.id, cipher=cipher) for r in found]


def erase(session: Session, user: User, ref: str) -> dict[str, int]:
    """Delete every referral of a mentee code in the coordinator's program (events too)."""
    found = _of_mentee(session, _coordinator(user), ref)
    record_many(session, user, "mentee.erase", found)
    if found:
        session.execute(delete(Referral).where(Referral.id.in_([r.id for r in found])))
    return {"erased": len(found)}
