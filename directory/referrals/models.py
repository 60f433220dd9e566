"""Referrals and their events. A mentee appears only as the program's pseudonymous code; free
text (notes, reasons) is stored encrypted (see ``notes``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from directory.db import Base, IdMixin, TimestampMixin
from directory.referrals.lifecycle import STATUSES
from directory.types import CONTACT_PREFERENCES, PRIORITIES


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Referral(IdMixin, TimestampMixin, Base):
    __tablename__ = "referral"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint(_in("contact_preference", CONTACT_PREFERENCES), name="contact"),
        UniqueConstraint("mentor_id", "idempotency_key"),
        Index("ix_referral_follow_up", "mentor_id", "follow_up_at"),
    )

    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("program.id"), index=True)
    mentor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    mentee_ref: Mapped[str] = mapped_column(String(40), index=True)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service.id"), index=True)
    location_id: Mapped[uuid.UUID | None] = mapped_column()
    needs: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    priority: Mapped[str] = mapped_column(String(8), default="routine")
    contact_preference: Mapped[str] = mapped_column(String(24))
    consent: Mapped[dict[str, Any]] = mapped_column(JSONB)  # scope, obtained_at, method, ...
    note: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted
    status: Mapped[str] = mapped_column(String(24), default="requested")
    outcome: Mapped[str | None] = mapped_column(String(32))
    sub_status: Mapped[str | None] = mapped_column(String(32))
    follow_up_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_event_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    first_contact_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)

    # eager_defaults: updated_at comes back with the UPDATE (RETURNING), not in a second query
    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}  # noqa: RUF012


class ReferralEvent(IdMixin, Base):
    """One thing that happened to a referral: append-only."""

    __tablename__ = "referral_event"
    __table_args__ = (UniqueConstraint("referral_id", "seq"),)

    referral_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("referral.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # codes and dates only
    text: Mapped[bytes | None] = mapped_column(LargeBinary)  # a note or a reason, encrypted
