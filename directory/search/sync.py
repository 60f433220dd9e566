"""Index sync: drain the outbox into the search indexes, and rebuild them from the listings.

The postgres index: each batch is read, indexed and marked done in one transaction, so a row is
done only once the index holds its change. Meilisearch: rows are marked ``meili_synced_at`` only
once Meilisearch confirmed them (its tasks succeeded); while it is unreachable, they wait.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import cast, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from directory.db import unit_of_work, writing
from directory.listings.models import Location, SearchOutbox, Service, ServiceAtLocation
from directory.listings.taxonomy import need_lineage
from directory.search import postgres, postgres_index
from directory.search.backends import Backends
from directory.search.documents import Document, Listing, documents
from directory.search.documents_sql import collection_paused, fetch_listings, read_listings
from directory.search.meilisearch import MeiliBackend, SearchBackendError

BATCH = 500
REBUILD_BATCH = 2000  # listings read and written at once by a rebuild
DRAIN_LOCK = 0x5EA2  # the advisory lock (with the index's number) that serialises batches
log = logging.getLogger(__name__)


def sync_batch(session: Session, *, limit: int = BATCH) -> int:
    """Index one batch of pending outbox rows; how many rows it handled (0: nothing pending)."""

    def send(service_ids: list[uuid.UUID], docs: list[Document]) -> None:
        postgres.replace(session, service_ids, docs)

    return _sync(session, SearchOutbox.processed_at, send, limit)


def documents_of(session: Session, service_ids: Sequence[uuid.UUID]) -> list[Document]:
    """The search documents of these listings (deleted or hidden ones have none), read with a
    fixed number of statements however many they are."""
    return _documents(_read(session, service_ids), need_lineage(session))


def _read(session: Session, service_ids: Sequence[uuid.UUID]) -> list[Listing]:
    with collection_paused():
        return read_listings(session, service_ids)


def _fetch(session: Session, service_ids: Sequence[uuid.UUID]) -> Callable[[], list[Listing]]:
    with collection_paused():
        return fetch_listings(session, service_ids)


def _documents(
    listings: list[Listing] | Callable[[], list[Listing]], lineage: dict[str, tuple[str, ...]]
) -> list[Document]:
    with collection_paused():
        made = listings if isinstance(listings, list) else listings()
        return [doc for found in made for doc in documents(found, lineage)]


def sync_external(session: Session, backend: MeiliBackend, *, limit: int = BATCH) -> int:
    """Send the next batch of changes Meilisearch has not confirmed; each row is marked only once
    its tasks succeeded. How many rows it handled (0: Meilisearch is up to date)."""
    return _sync(session, SearchOutbox.meili_synced_at, backend.replace, limit)


def _sync(
    session: Session,
    done: Any,
    send: Callable[[list[uuid.UUID], list[Document]], None],
    limit: int,
) -> int:
    """One batch of the outbox rows whose ``done`` column is empty: their listings' documents
    sent, then the rows marked (locked meanwhile, so two syncs never take the same rows).

    Batches of one index run one at a time, whoever drains (each ``serve`` worker has a
    drainer): otherwise a batch that read a listing before an edit could write its old document
    after another batch wrote the new one, and the index would keep the old version with
    nothing pending."""
    session.execute(select(func.pg_advisory_xact_lock(DRAIN_LOCK, _lock_id(done))))
    pending = session.execute(
        select(SearchOutbox.id, SearchOutbox.entity_id)
        .where(done.is_(None), SearchOutbox.entity == "service")
        .order_by(SearchOutbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not pending:
        return 0
    service_ids = list(dict.fromkeys(row.entity_id for row in pending))
    send(service_ids, documents_of(session, service_ids))
    session.execute(
        update(SearchOutbox)
        .where(SearchOutbox.id.in_([row.id for row in pending]))
        .values({done: func.now()})
    )
    return len(pending)


def _lock_id(done: Any) -> int:
    return 1 if done is SearchOutbox.processed_at else 2


def rebuild(factory: sessionmaker[Session], *, backends: Backends | None = None) -> int:
    """Refill the postgres index from every listing in one transaction (search never sees it
    empty), then, when configured, Meilisearch's: a fresh index swapped in. The number of
    documents. A Meilisearch failure leaves the new postgres index in place."""
    with unit_of_work(factory) as session:
        upto = session.scalar(select(func.max(SearchOutbox.id))) or 0
        postgres.clear(session)
        written = _write_all(session)
        _mark(session, SearchOutbox.processed_at, upto)
        # the planner's figures of the new index, published with it: searches right after a
        # rebuild are otherwise planned for the old one's (or, in a new database, for none)
        session.execute(text("ANALYZE search_document, search_result, search_word"))
    meili = backends.meili if backends else None
    if meili is not None:
        with unit_of_work(factory) as session:
            upto = session.scalar(select(func.max(SearchOutbox.id))) or 0
            meili.rebuild(all_documents(session))
            _mark(session, SearchOutbox.meili_synced_at, upto)
    return written


def _mark(session: Session, column: Any, upto: int) -> None:
    """Rows up to ``upto`` are in the rebuilt index (later ones are synced as usual)."""
    session.execute(
        update(SearchOutbox)
        .where(column.is_(None), SearchOutbox.id <= upto)
        .values({column: func.now()})
    )


def all_documents(session: Session) -> Iterator[list[Document]]:
    """The documents of every searchable listing, a batch of listings at a time (``_batches``)."""
    lineage = need_lineage(session)
    for service_ids in _batches(session):
        yield _documents(_read(session, service_ids), lineage)


def _write_all(session: Session) -> int:
    """Every searchable listing's documents into the postgres index; how many. The database
    writes each batch in a writer thread (``db.writing``) while this one makes the next in Python
    (its listings from the rows read, its documents, their JSON): the two, about equal, overlap."""
    lineage = need_lineage(session)
    written, ready = 0, None
    with writing(session) as writer:
        for service_ids in _batches(session):
            listings = _fetch(session, service_ids)  # (once the batch before last is written)
            if ready is not None:  # the batch before, written while this one is made
                writer.submit(partial(postgres_index.write, batch=ready))
            docs = _documents(listings, lineage)
            ready = postgres_index.prepare([], docs)
            written += len(docs)
        if ready is not None:
            writer.submit(partial(postgres_index.write, batch=ready))
    return written


def _batches(session: Session) -> Iterator[list[uuid.UUID]]:
    """Every searchable listing's id, a batch at a time, in the order of their places (a rebuild
    writes neighbours next to each other: a search near a place then reads a quarter of the
    table pages it read in id order, measured 6 ms less a search at 100,000 listings)."""
    area = (
        select(
            ServiceAtLocation.service_id,
            func.min(func.ST_GeoHash(cast(Location.point, Geometry), 6)).label("cell"),
        )
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .group_by(ServiceAtLocation.service_id)
        .subquery()
    )
    query = (
        select(Service.id)
        .outerjoin(area, area.c.service_id == Service.id)
        .where(Service.curation_status == "published", Service.status == "active")
        .order_by(area.c.cell.nulls_first(), Service.id)
    )
    ids = list(session.scalars(query))
    for start in range(0, len(ids), REBUILD_BATCH):
        yield ids[start : start + REBUILD_BATCH]


class Follower:
    """Drains the outbox every ``interval`` seconds in a background thread (``directory serve``,
    ``directory index sync --follow``) until stopped."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        backends: Backends | None = None,
        interval: float = 1.0,
    ) -> None:
        self.factory, self.backends, self.interval = factory, backends, interval
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
                drain(self.factory, backends=self.backends, stop=self.stopping)
            except Exception:  # the database may be restarting: log, wait, try again
                log.exception("index sync failed; retrying in %.0f s", self.interval)
            self.stopping.wait(self.interval)


def drain(
    factory: sessionmaker[Session],
    *,
    backends: Backends | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Sync batch after batch, each in its own transaction, until nothing is pending: the
    postgres index, then Meilisearch's (which, when unreachable, waits for the next run)."""
    total = _drain(factory, sync_batch, stop)
    meili = backends.meili if backends else None
    if meili is not None:
        try:
            _drain(factory, lambda session: sync_external(session, meili), stop)
        except SearchBackendError as error:
            log.warning("Meilisearch not synced, the outbox waits: %s", error)
            meili.recover()  # a lost index or lost settings heal before the next run
    return total


def _drain(
    factory: sessionmaker[Session],
    step: Callable[[Session], int],
    stop: threading.Event | None,
) -> int:
    total = 0
    while stop is None or not stop.is_set():
        with unit_of_work(factory) as session:
            done = step(session)
        if not done:
            break
        total += done
    return total
