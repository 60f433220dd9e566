"""The read replica (``DIRECTORY_DATABASE_REPLICA_URL``): its engine and whether it answers
(``Replica``), and the session whose reads go to it and whose writes go to the primary
(``ReplicaSession``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement, TextClause
from sqlalchemy.sql.selectable import CompoundSelect, Select

from directory.config import Settings
from directory.db import make_engine, replica_url

log = logging.getLogger(__name__)
REPLICA_RETRY = 10.0  # seconds a read replica that failed is left alone (its reads: the primary)


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
