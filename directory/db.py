"""Database engine, sessions and the declarative base."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import pq
from psycopg.abc import PQGen
from sqlalchemy import DateTime, Executable, MetaData, create_engine, event, func
from sqlalchemy.engine import URL, Connection, Engine, ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql.elements import ClauseElement, TextClause
from sqlalchemy.sql.selectable import CompoundSelect, Select

from directory.config import DatabaseTimeouts, Settings, get_settings

log = logging.getLogger(__name__)
KEPT = "directory.kept"  # the session.info entry of keep_on_failure's statements
# Seconds an answer may take past the statement timeout before the client stops waiting. A
# server that answers cancels the statement itself (an error, a 503 all the same); one that
# does not is frozen, or the way to it is, and will not answer in time.
ANSWER_GRACE = 2.0
REPLICA_RETRY = 10.0  # seconds a read replica that failed is left alone (its reads: the primary)
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


def open_replica(settings: Settings, **kwargs: object) -> Replica | None:
    """The read replica of the settings, with the API's timeouts; None when none is set."""
    url = replica_url(settings)
    if url is None:
        return None
    return Replica(make_engine(url, pre_ping=True, timeouts=settings.api_timeouts, **kwargs))


class Replica:
    """A streaming read replica's engine, and whether it answers.

    A replica that refuses a connection (down, full, unreachable), or loses one, is left alone
    for ``retry`` seconds: reads go to the primary meanwhile, and the failure is logged once.
    Its engine tests each pooled connection before use (``pre_ping``), so that a replica gone
    away sends reads to the primary rather than failing them on a dead connection. It may lag
    the primary (by the time its replay takes): what reads it is what tolerates that."""

    def __init__(self, engine: Engine, *, retry: float = REPLICA_RETRY) -> None:
        self.engine = engine
        self.retry = retry
        self.down_until = 0.0
        self.failed = False  # since it last answered
        event.listen(engine, "handle_error", self._failed)

    @property
    def up(self) -> bool:
        """Whether reads go to it (not refused within the last ``retry`` seconds)."""
        return time.monotonic() >= self.down_until

    def connect(self) -> Connection | None:
        """A connection to the replica; None when it is down, or its pool is busy."""
        if not self.up:
            return None
        try:
            connection = self.engine.connect()
        except DBAPIError as error:
            self.mark_down(error)
            return None
        except PoolTimeout:  # busy, not down: this read goes to the primary
            log.warning("read replica's pool busy, a read goes to the primary")
            return None
        if self.failed:
            self.failed = False
            log.warning("read replica answers again: reads go to it")
        return connection

    def mark_down(self, error: BaseException) -> None:
        if self.up:
            lines = str(error).strip().splitlines()
            log.warning(
                "read replica unavailable, reads go to the primary for %g s: %s",
                self.retry,
                lines[0] if lines else type(error).__name__,
            )
        self.failed = True
        self.down_until = time.monotonic() + self.retry

    def _failed(self, context: ExceptionContext) -> None:
        if context.is_disconnect:  # lost mid-statement (this request fails: a 503)
            self.mark_down(context.original_exception)


def _reads(clause: ClauseElement | None) -> bool:
    """Whether a statement only reads (and may go to a read-only standby): a SELECT without
    FOR UPDATE, or SQL text that is one. Anything else (DML, a locking read, a function
    call that may write) goes to the primary."""
    if clause is None or isinstance(clause, Select | CompoundSelect):
        return getattr(clause, "_for_update_arg", None) is None
    if isinstance(clause, TextClause):
        sql = clause.text.lstrip().upper()
        return sql.startswith(("SELECT", "EXPLAIN")) and "FOR UPDATE" not in sql
    return False


class ReplicaSession(Session):
    """A session whose reads go to the replica and whose writes go to the primary.

    Writes (a flush, an INSERT, UPDATE or DELETE: the count of a search that found nothing)
    join ``primary``, the request's session of the primary, in its transaction (committed when
    it is): a request holds one primary connection at most. Reads go to the primary too while
    the replica is down, and when ``own_writes()`` says the caller must read what they just
    wrote (asked at each statement: who is calling is known once the request's sign-in is
    checked)."""

    def __init__(
        self,
        *,
        replica: Replica,
        primary: Session,
        own_writes: Callable[[], bool] = lambda: False,
        owns_primary: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(join_transaction_mode="rollback_only", expire_on_commit=False, **kwargs)
        self.replica = replica
        self.primary = primary
        self.own_writes = own_writes
        self.owns_primary = owns_primary  # closed with it (a session of its own, not a request's)
        self._read: Connection | None = None  # the replica connection, once asked for
        self._read_asked = False

    def get_bind(
        self, mapper: Any = None, *, clause: ClauseElement | None = None, **kw: Any
    ) -> Engine | Connection:
        if self._flushing or not _reads(clause) or self.own_writes():
            return self.primary.connection()
        if not self._read_asked:
            self._read_asked = True
            self._read = self.replica.connect()
        return self._read if self._read is not None else self.primary.connection()

    def close(self) -> None:
        super().close()
        if self._read is not None:
            self._read.close()  # back to the replica's pool
        self._read, self._read_asked = None, False
        if self.owns_primary:
            self.primary.close()
