"""Users with a role, and their bearer tokens (stored hashed)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.db import Base, IdMixin, TimestampMixin

ROLES = ("admin", "coordinator", "mentor")


class Program(IdMixin, TimestampMixin, Base):
    """A peer-mentoring program: its mentors and coordinators, and the referrals they make."""

    __tablename__ = "program"

    name: Mapped[str] = mapped_column(Text, unique=True)
    # What the program's mentee codes look like (a PostgreSQL regular expression, matched
    # whole and without regard to case); None: only the general rules of a code apply.
    mentee_ref_pattern: Mapped[str | None] = mapped_column(Text)


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint("role IN ('admin', 'coordinator', 'mentor')", name="role"),)

    email: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    program_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("program.id"), index=True)
    # argon2id (PHC string); None until the person chooses one through a sign-in link.
    password_hash: Mapped[str | None] = mapped_column(Text)


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
    # The program whose coordinators see and revoke it; None (an admin's or the command's
    # key, or its program deleted): admins only.
    program_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("program.id", ondelete="SET NULL"), index=True
    )

    program: Mapped[Program | None] = relationship(lazy="raise")


class AuditEntry(Base):
    """Who read or changed what, when: append-only, and never holding free text."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # None: the `directory` command (retention purge), not a user. No foreign key: the log
    # outlives users, and a refused attempt is written in a transaction of its own.
    actor_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    program_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(32))
    referral_id: Mapped[uuid.UUID | None] = mapped_column(index=True)  # kept after an erasure
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class WebSession(Base):
    """A browser session: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "web_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_seen_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class SignInLink(Base):
    """A one-time link that lets a person choose a password (an invitation); stored hashed."""

    __tablename__ = "sign_in_link"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SignInFailure(Base):
    """A failed sign-in, counted per account and per address to throttle guessing (both kept
    as keyed hashes: the table never holds what was typed, nor an IP address)."""

    __tablename__ = "sign_in_failure"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(Text, index=True)  # HMAC of the email as typed
    address: Mapped[str] = mapped_column(String(64), index=True)  # HMAC of the client address
    at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
