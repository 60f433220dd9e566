"""Problem reports on listings, and the listings a mentor keeps at hand."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from directory.db import Base, IdMixin

PROBLEM_KINDS = ("wrong-number", "closed", "full", "other")
PROBLEM_STATUSES = ("open", "resolved", "dismissed")
SUGGESTION_STATUSES = ("open", "approved", "rejected")
SUGGESTION_SOURCES = ("user", "import", "partner")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Decided:
    """Who closed a review-queue item, when, and what they said (no foreign key to the user:
    the item outlives the account)."""

    decided_by: Mapped[uuid.UUID | None] = mapped_column()
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)


class ProblemReport(IdMixin, Decided, Base):
    """A mentor's report that a listing is wrong: it waits in the coordinators' review queue."""

    __tablename__ = "problem_report"
    __table_args__ = (
        CheckConstraint(_in("kind", PROBLEM_KINDS), name="kind"),
        CheckConstraint(_in("status", PROBLEM_STATUSES), name="status"),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    # No foreign key to the user: a report outlives its reporter's account.
    reporter_id: Mapped[uuid.UUID | None] = mapped_column()
    program_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


class ChangeSuggestion(IdMixin, Decided, Base):
    """A proposed change to a listing (fields of ``ServiceUpdate``), waiting in the review queue
    until a coordinator approves it (as it is, or edited first) or rejects it."""

    __tablename__ = "change_suggestion"
    __table_args__ = (
        CheckConstraint(_in("status", SUGGESTION_STATUSES), name="status"),
        CheckConstraint(_in("source", SUGGESTION_SOURCES), name="source"),
    )

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    # No foreign key to the user: a suggestion outlives the account that made it.
    suggested_by: Mapped[uuid.UUID | None] = mapped_column()
    program_id: Mapped[uuid.UUID | None] = mapped_column()
    base_version: Mapped[int] = mapped_column(Integer)  # the listing's version when suggested
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


class SavedListing(Base):
    """A listing a mentor saved to their list."""

    __tablename__ = "saved_listing"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
