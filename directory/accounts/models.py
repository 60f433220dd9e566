"""Users with a role, and their bearer tokens (stored hashed)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.db import Base, IdMixin, TimestampMixin

ROLES = ("admin", "coordinator", "mentor")


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint("role IN ('admin', 'coordinator', 'mentor')", name="role"),)

    email: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)


class ApiToken(IdMixin, Base):
    """A bearer token: only its SHA-256 is kept (tokens are long and random: no salt needed)."""

    __tablename__ = "api_token"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="raise")


class PartnerKey(IdMixin, Base):
    """A publishable key for a partner site's embedded search: it can only search and read
    published listings, from its own origins, within its rate. Only its SHA-256 is stored."""

    __tablename__ = "partner_key"

    name: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the key's first characters, to name it
    origins: Mapped[list[str]] = mapped_column(ARRAY(Text))
    rate: Mapped[str] = mapped_column(String(32))  # "120/minute"
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
