"""Database engine, sessions and the declarative base, and a session's writes in a thread."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import pq
from psycopg.abc import PQGen
from sqlalchemy import DateTime, Executable, MetaData, create_engine, event, func
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    sessionmaker,
)

from directory.config import DatabaseTimeouts, Settings, get_settings

log = logging.getLogger(__name__)
KEPT = "directory.kept"  # the session.info entry of keep_on_failure's statements
# Seconds an answer may take past the statement timeout before the client stops waiting. A
# server that answers cancels the statement itself (an error, a 503 all the same); one that
# does not is frozen, or the way to it is, and will not answer in time.
ANSWER_GRACE = 2.0
RV = TypeVar("RV")

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
        return _with_password(settings.database_url, settings.database_password)
    from directory.pgcluster import PrivateCluster

    return PrivateCluster.from_settings(settings).url


def replica_url(settings: Settings) -> str | None:
    """The read replica's URL (with ``database_password`` put in), or None when none is set."""
    if not settings.database_replica_url:
        return None
    return _with_password(settings.database_replica_url, settings.database_password)


def _with_password(url: str, password: str | None) -> str:
    if password is None:
        return url
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def make_engine(
    url: str,
    *,
    pre_ping: bool = True,
    timeouts: DatabaseTimeouts | None = None,
    **kwargs: object,
) -> Engine:
    """An engine for a plain PostgreSQL URL, with the database's timeouts set on every
    connection (``timeouts``: the command line's from the settings unless given).

    ``pre_ping`` tests each pooled connection before use (a round trip). The API turns it off
    (measured: a fifth of its write throughput); after a database restart its first request on
    a dead connection gets a 503 and the pool replaces its connections. With a statement
    timeout, an answer is waited for that long and ``ANSWER_GRACE`` more (``BoundedConnection``):
    a frozen database costs a request a 503, not a wait for as long as it stays frozen.
    """
    timeouts = timeouts or get_settings().cli_timeouts
    # hide_parameters: an error message never carries a mentee code or a consent's wording
    engine = create_engine(
        sqlalchemy_url(url),
        pool_pre_ping=pre_ping,
        hide_parameters=True,
        connect_args=_connect_args(timeouts),
        **kwargs,
    )
    if timeouts.statement:
        within = timeouts.statement + ANSWER_GRACE

        @event.listens_for(engine, "do_connect")
        def _connect(_d: object, _r: object, cargs: Any, cparams: Any) -> BoundedConnection:
            connection = BoundedConnection.connect(*cargs, **cparams)
            connection.answer_within = within
            return connection

    return engine


class BoundedConnection(psycopg.Connection[Any]):
    """A connection that waits for an answer ``answer_within`` seconds at most, then closes
    (the pool discards it, and the caller gets an ``OperationalError``: a 503).

    Without it a statement sent to a frozen database (or down a path that went silent: the
    server's statement timeout never reaches us) waits until the database answers again, for
    as long as that takes, holding its request and its pooled connection (ten such requests
    hold the API's whole pool). Many statements sent in one wait (``executemany``, in
    pipeline mode) are not bounded: together they may rightly take longer."""

    answer_within: float | None = None

    def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        pipelined = self.pgconn.pipeline_status != pq.PipelineStatus.OFF
        if timeout is not None or pipelined or self.answer_within is None:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.answer_within)
        except psycopg.errors._WaitTimeout as error:  # psycopg's, from Connection.wait
            self.close()  # mid-statement, in a state no one knows: never used again
            raise psycopg.OperationalError(
                f"no answer from the database within {self.answer_within:g} s: connection closed"
            ) from error


def _connect_args(timeouts: DatabaseTimeouts) -> dict[str, object]:
    """libpq's connect timeout, and the server's timeouts as options of the session (0: none)."""
    server = {
        "statement_timeout": timeouts.statement,
        "lock_timeout": timeouts.lock,
        "idle_in_transaction_session_timeout": timeouts.idle_in_transaction,
    }
    options = " ".join(f"-c {name}={round(seconds * 1000)}" for name, seconds in server.items())
    return {"connect_timeout": max(1, round(timeouts.connect)), "options": options}


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """The session factory: one session per unit of work."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error (keeping what the unit
    asked to keep, see ``keep_on_failure``)."""
    with factory() as session:
        try:
            with session.begin():
                yield session
        except BaseException:
            commit_kept(session)
            raise


def keep_on_failure(session: Session, statement: Executable) -> None:
    """Run ``statement`` when the session's transaction ends, even when it is rolled back
    (the audit row of a refused attempt): before its commit, or after its rollback in a
    transaction of its own, on the same session, so a unit of work never holds one pooled
    connection while it waits for a second (36 refusals at once froze a pool of 10)."""
    session.info.setdefault(KEPT, []).append(statement)


@event.listens_for(Session, "before_commit")
def _run_kept(session: Session) -> None:
    for statement in session.info.pop(KEPT, ()):
        session.execute(statement)


def commit_kept(session: Session) -> None:
    """After a rollback: commit what the failed unit asked to keep, if anything (logged when
    that fails: the answer to the caller does not depend on it)."""
    if not session.info.get(KEPT):
        return
    try:
        session.expunge_all()  # what was loaded stays readable, as after a close
        session.rollback()
        session.commit()  # runs the kept statements (_run_kept)
    except SQLAlchemyError:
        log.exception("could not keep what a failed unit of work asked to keep")
        session.rollback()


# -- a session's writes in a thread ---------------------------------------------------------
# A bulk write (an import's round of COPY, a batch of the search index) mostly waits on
# PostgreSQL; handed to one writer thread, on the same session and transaction, it overlaps the
# Python that makes the next one (at 100,000 listings, with the rest of issue 15's work: an
# import 102 s to 84 s, a rebuild 1,671 to 2,374 listings a second). The session is never used
# by two threads at once: while a round is in flight, any statement the opening thread sends
# through the session (``do_orm_execute``) first waits for the round to end (``settle``), so every
# read sees what was written before it, as when the writes were inline. A failed round raises its
# error there, in the opening thread. Only one round is in flight.


class Writer:
    """A session's rounds of writes, one at a time in a thread of their own (``writing``)."""

    def __init__(self, session: Session, pool: ThreadPoolExecutor) -> None:
        self.session, self.pool = session, pool
        self.owner = threading.get_ident()  # the thread that opened it (an import's loader)
        self.pending: Future[None] | None = None

    def submit(self, write: Callable[[Session], None]) -> None:
        """Run ``write(session)`` in the writer's thread, after the round before it (what it
        writes is the writer's from now)."""
        self.settle()
        self.pending = self.pool.submit(write, self.session)

    def settle(self) -> None:
        """Wait for the round in flight, raising its error."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def _before(self, _: ORMExecuteState) -> None:
        if threading.get_ident() == self.owner:
            self.settle()


@contextmanager
def writing(session: Session) -> Iterator[Writer]:
    """A writer for the session, for the time of the ``with``; its last round is written (or
    has failed) when the block ends, even when the block fails."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="writer") as pool:
        writer = Writer(session, pool)
        hook: Any = writer._before
        event.listen(session, "do_orm_execute", hook)
        try:
            yield writer
        except BaseException as failure:
            _settle_after(writer, failure)
            raise
        finally:
            event.remove(session, "do_orm_execute", hook)
        writer.settle()


def _settle_after(writer: Writer, failure: BaseException) -> None:
    """Wait for the round in flight once the block failed. When that round failed too, its error
    is the one raised, with the block's as its cause: it came first, and what the block met after
    it (an import's keep-ids read-ahead asks the connection directly: "current transaction is
    aborted") only follows from it."""
    try:
        writer.settle()
    except Exception as round_error:
        raise round_error from failure
