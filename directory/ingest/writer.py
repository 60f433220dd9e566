"""Writing an import's queued rows in a thread while the loader goes on reading.

A bulk round (``Rows.write``: the organizations' upsert, then a COPY per table) mostly waits on
PostgreSQL, and the loader used to wait with it: at 100,000 HSDS services the writes took 55 of
the import's 135 s (shared machine), the worker process idle meanwhile. Here a round is handed to
one writer thread, on the import's own session and transaction, and the loader prepares the next
batch while PostgreSQL stores this one.

The session is never used by two threads at once: while a round is in flight, any statement the
loader's thread sends through the session (``do_orm_execute``) first waits for the round to end
(``settle``), so every read sees the rows written before it, as when the writes were inline. A
failed round raises its error there, in the loader's thread. Only one round is in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from directory.listings.rows import Rows


class Writer:
    """The rounds of one import, written one at a time in a thread of their own."""

    def __init__(self, session: Session, pool: ThreadPoolExecutor) -> None:
        self.session, self.pool = session, pool
        self.owner = threading.get_ident()  # the loader's thread
        self.pending: Future[None] | None = None

    def submit(self, rows: Rows) -> None:
        """Write these rows (after the round before them); ``rows`` is the writer's from now."""
        self.settle()
        self.pending = self.pool.submit(rows.write, self.session)

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
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as pool:
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
    it (the keep-ids read-ahead asks the connection directly: "current transaction is aborted")
    only follows from it."""
    try:
        writer.settle()
    except Exception as round_error:
        raise round_error from failure
