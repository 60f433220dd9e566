"""Database engine, sessions and the declarative base."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import DateTime, MetaData, create_engine, func
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from directory.config import Settings

# Alembic and the models share one constraint naming convention.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def new_id() -> uuid.UUID:
    """A fresh random id."""
    return uuid.uuid4()


class IdMixin:
    """A UUID primary key, as HSDS 3.0 uses."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    """``created_at`` (set by the database) and ``updated_at`` (set again on every ORM update)."""

    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


def sqlalchemy_url(url: str) -> URL:
    """Turn a plain ``postgresql://`` URL into one that uses the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername != "postgresql+psycopg":
        raise ValueError(f"not a PostgreSQL URL: {parsed.drivername}")
    return parsed


def database_url(settings: Settings) -> str:
    """The configured database URL (with ``database_password`` put in, escaped as SQLAlchemy
    reads it back, so any character works), or the private cluster's when none is set."""
    if settings.database_url:
        if settings.database_password is None:
            return settings.database_url
        url = make_url(settings.database_url).set(password=settings.database_password)
        return url.render_as_string(hide_password=False)
    from directory.pgcluster import PrivateCluster

    return PrivateCluster.from_settings(settings).url


def make_engine(url: str, *, pre_ping: bool = True, **kwargs: object) -> Engine:
    """An engine for a plain PostgreSQL URL.

    ``pre_ping`` tests each pooled connection before use (a round trip). The API turns it off
    (measured: a fifth of its write throughput); after a database restart its first request on
    a dead connection gets a 503 and the pool replaces its connections.
    """
    # hide_parameters: an error message never carries a mentee code or a consent's wording
    return create_engine(
        sqlalchemy_url(url), pool_pre_ping=pre_ping, hide_parameters=True, **kwargs
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """The session factory: one session per unit of work."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
