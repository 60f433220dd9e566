"""Index sync: drain the outbox into the search index, and rebuild the index from the listings.

Each batch is read, indexed and marked done in one transaction, so a row is done only once the
index holds its change; a failure leaves the batch pending for the next run.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from directory.db import unit_of_work
from directory.listings.models import SearchOutbox, Service
from directory.listings.queries import read_services
from directory.listings.taxonomy import need_lineage
from directory.search import postgres
from directory.search.documents import Document, documents

BATCH = 500
log = logging.getLogger(__name__)


def sync_batch(session: Session, *, limit: int = BATCH) -> int:
    """Index one batch of pending outbox rows; how many rows it handled (0: nothing pending)."""
    pending = session.execute(
        select(SearchOutbox.id, SearchOutbox.entity_id)
        .where(SearchOutbox.processed_at.is_(None), SearchOutbox.entity == "service")
        .order_by(SearchOutbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not pending:
        return 0
    service_ids = list(dict.fromkeys(row.entity_id for row in pending))
    postgres.replace(session, service_ids, documents_of(session, service_ids))
    session.execute(
        update(SearchOutbox)
        .where(SearchOutbox.id.in_([row.id for row in pending]))
        .values(processed_at=func.now())
    )
    return len(pending)


def documents_of(session: Session, service_ids: Sequence[uuid.UUID]) -> list[Document]:
    """The search documents of these listings (deleted or hidden ones have none)."""
    present = list(session.scalars(select(Service.id).where(Service.id.in_(service_ids))))
    lineage = need_lineage(session)
    return [doc for read in read_services(session, present) for doc in documents(read, lineage)]


def rebuild(session: Session, *, batch: int = BATCH) -> int:
    """Refill the index from every listing in one transaction; the number of documents."""
    postgres.clear(session)
    query = select(Service.id).where(
        Service.curation_status == "published", Service.status == "active"
    )
    ids = list(session.scalars(query.order_by(Service.id)))
    written = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        docs = documents_of(session, chunk)
        postgres.replace(session, [], docs)
        written += len(docs)
        session.expunge_all()  # keep memory flat over a large rebuild
    session.execute(
        update(SearchOutbox)
        .where(SearchOutbox.processed_at.is_(None))
        .values(processed_at=func.now())
    )
    return written


class Follower:
    """Drains the outbox every ``interval`` seconds in a background thread (``directory serve``,
    ``directory index sync --follow``) until stopped."""

    def __init__(self, factory: sessionmaker[Session], *, interval: float = 1.0) -> None:
        self.factory, self.interval = factory, interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="index-sync", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                drain(self.factory, stop=self.stopping)
            except Exception:  # the database may be restarting: log, wait, try again
                log.exception("index sync failed; retrying in %.0f s", self.interval)
            self.stopping.wait(self.interval)


def drain(factory: sessionmaker[Session], *, stop: threading.Event | None = None) -> int:
    """Sync batch after batch, each in its own transaction, until nothing is pending."""
    total = 0
    while stop is None or not stop.is_set():
        with unit_of_work(factory) as session:
            done = sync_batch(session)
        if not done:
            break
        total += done
    return total
