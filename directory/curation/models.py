"""Problem reports on listings, and the listings a mentor keeps at hand."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from directory.db import Base, IdMixin

PROBLEM_KINDS = ("wrong-number", "closed", "full", "other")
PROBLEM_STATUSES = ("open", "resolved", "dismissed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ProblemReport(IdMixin, Base):
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
