"""The outbox feeds both indexes; a rebuild refills them; late commits are never skipped."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory.db import unit_of_work
from directory.listings.models import SearchOutbox, Service
from directory.listings.schemas import ServiceCreate
from directory.listings.service import create_service
from directory.search import postgres, postgres_index, sync
from directory.search.backends import Backends
from directory.search.documents import Document
from directory.search.meilisearch import MeiliBackend
from directory.search.models import SearchDocument
from directory.search.sync import rebuild, sync_external


class Recording(MeiliBackend):
    """Meilisearch at its boundary: what it was sent (no server can run here)."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9", None)
        self.sent: list[uuid.UUID] = []

    def replace(self, service_ids: Sequence[uuid.UUID], docs: list[Document]) -> None:
        self.sent.extend(service_ids)


def test_a_change_that_commits_late_is_still_sent(session: Session) -> None:
    ids = list(session.scalars(select(Service.id).limit(2)))
    rows = [
        session.scalar(
            text(
                "INSERT INTO search_outbox (entity, entity_id, operation)"
                " VALUES ('service', :id, 'upsert') RETURNING id"
            ),
            {"id": service_id},
        )
        for service_id in ids
    ]
    session.execute(update(SearchOutbox).values(meili_synced_at=func.now()))
    # The newer row was confirmed first; the older one (a transaction that committed late) not.
    session.execute(
        update(SearchOutbox).where(SearchOutbox.id == rows[0]).values(meili_synced_at=None)
    )
    backend = Recording()
    assert sync_external(session, backend) == 1
    assert backend.sent == [ids[0]]
    assert sync_external(session, backend) == 0


def test_a_rebuild_refills_the_index_and_settles_the_outbox(
    session_factory: sessionmaker[Session], session: Session
) -> None:
    sync.drain(session_factory)  # listings other tests committed are indexed first
    before = session.scalar(text("SELECT count(*) FROM search_document"))
    session.execute(text("DELETE FROM search_document"))
    session.execute(
        text(
            "INSERT INTO search_outbox (entity, entity_id, operation)"
            " SELECT 'service', id, 'upsert' FROM service LIMIT 3"
        )
    )
    started = session.scalar(text("SELECT clock_timestamp()"))
    written = rebuild(session_factory, backends=Backends())
    assert written == before == session.scalar(text("SELECT count(*) FROM search_document"))
    assert session.scalar(text(SHOWN)) == written  # what each result shows, and nothing else
    pending = session.scalar(
        select(func.count()).select_from(SearchOutbox).where(SearchOutbox.processed_at.is_(None))
    )
    assert pending == 0
    for table in ("search_document", "search_result"):
        analyzed = f"SELECT last_analyze FROM pg_stat_user_tables WHERE relname = '{table}'"
        assert session.scalar(text(analyzed)) >= started  # the new index's figures came with it


SHOWN = "SELECT count(*) FROM search_result r JOIN search_document d USING (id)"


def test_a_synced_listing_has_one_result_body_per_document(session: Session) -> None:
    """A listing synced again replaces its documents and what their results show; one hidden
    takes both out."""
    service_id = session.scalars(select(SearchDocument.service_id).limit(1)).one()
    again = text(
        "INSERT INTO search_outbox (entity, entity_id, operation) VALUES ('service', :id, 'upsert')"
    )
    session.execute(again, {"id": service_id})
    sync.sync_batch(session)
    bodies = text(
        "SELECT r.body ->> 'name' FROM search_result r JOIN search_document d USING (id)"
        " WHERE d.service_id = :id"
    )
    names = list(session.scalars(bodies, {"id": service_id}))
    assert names and len(names) == session.scalar(
        select(func.count()).where(SearchDocument.service_id == service_id)
    )
    session.execute(update(Service).where(Service.id == service_id).values(status="inactive"))
    session.execute(again, {"id": service_id})
    sync.sync_batch(session)
    assert list(session.scalars(bodies, {"id": service_id})) == []
    total = session.scalar(text("SELECT count(*) FROM search_result"))
    assert total == session.scalar(text(SHOWN))  # none left without its document


def test_two_drainers_never_leave_an_old_version_in_the_index(engine: Engine) -> None:
    """A batch that read a listing before an edit must not write its old document after another
    batch (another ``serve`` worker's drainer) wrote the new one: batches run one at a time."""
    factory = sessionmaker(engine)
    doc = {
        "name": "Racefinch one",
        "curation_status": "published",
        "organization": {"name": "Racefinch org"},
        "needs": ["peer-support"],
    }
    with unit_of_work(factory) as s:
        service_id = create_service(s, ServiceCreate.model_validate(doc))
    read, release = threading.Event(), threading.Event()

    def slow(service_ids: list[uuid.UUID], docs: list[Document]) -> None:
        read.set()  # the old version is read; wait before writing it
        release.wait(10)
        postgres.replace(first, service_ids, docs)

    def first_drainer() -> None:
        with unit_of_work(factory) as session:
            nonlocal first
            first = session
            sync._sync(session, SearchOutbox.processed_at, slow, sync.BATCH)

    first: Session | None = None
    a = threading.Thread(target=first_drainer)
    a.start()
    try:
        assert read.wait(10)
        with unit_of_work(factory) as s:
            s.execute(update(Service).where(Service.id == service_id).values(name="Racefinch two"))
            s.add(SearchOutbox(entity="service", entity_id=service_id, operation="upsert"))
        b = threading.Thread(target=sync.drain, args=(factory,))
        b.start()
        b.join(1.0)  # without the lock, the second drainer writes "two" now
    finally:
        release.set()
        a.join(10)
    b.join(10)
    try:
        sync.drain(factory)
        with factory() as s:
            found = select(SearchDocument.name).where(SearchDocument.service_id == service_id)
            assert list(s.scalars(found)) == ["Racefinch two"]
    finally:
        with unit_of_work(factory) as s:  # this test committed: leave nothing behind
            gone = {"id": service_id}
            s.execute(text("DELETE FROM search_document WHERE service_id = :id"), gone)
            s.execute(text("DELETE FROM service WHERE id = :id"), gone)


def test_a_rebuild_writes_neighbours_next_to_each_other(session: Session) -> None:
    """all_documents goes through the listings in the order of their places (a geohash of
    their sites), so a rebuild writes the documents of one area together: fewer table pages
    read per search. Listings with no site come first."""
    order: dict[uuid.UUID, list[str]] = {}
    for docs in sync.all_documents(session):
        for doc in docs:
            cells = order.setdefault(doc.service_id, [])
            if doc.kind == "site" and doc.latitude is not None:
                point = func.ST_SetSRID(func.ST_MakePoint(doc.longitude, doc.latitude), 4326)
                cells.append(session.scalar(select(func.ST_GeoHash(point, 6))))
    firsts = [min(cells) if cells else "" for cells in order.values()]
    assert len(set(firsts)) > 3  # the seed's listings are in several places
    assert firsts == sorted(firsts)


def test_a_rebuild_in_small_batches_writes_every_document_once(
    session_factory: sessionmaker[Session], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database writes one batch while the next is made: none is lost or written twice."""
    sync.drain(session_factory)
    monkeypatch.setattr(sync, "REBUILD_BATCH", 3)
    written = rebuild(session_factory)
    expected = sorted((d.id, d.name) for docs in sync.all_documents(session) for d in docs)
    rows = session.execute(text("SELECT id, name FROM search_document ORDER BY id, name")).all()
    assert [tuple(row) for row in rows] == expected and written == len(expected) > 9
    assert session.scalar(text(SHOWN)) == written


def test_a_rebuild_whose_write_fails_changes_nothing(
    session_factory: sessionmaker[Session], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync.drain(session_factory)
    before = session.execute(text("SELECT id FROM search_document ORDER BY id")).all()
    monkeypatch.setattr(sync, "REBUILD_BATCH", 3)
    calls, write = [], postgres_index.write

    def failing(session: Session, batch: postgres_index.Batch) -> None:
        calls.append(batch)
        if len(calls) == 2:  # the first batch is written
            raise RuntimeError("the database went away")
        write(session, batch)

    monkeypatch.setattr(postgres_index, "write", failing)
    with pytest.raises(RuntimeError, match="went away"):
        rebuild(session_factory)
    assert session.execute(text("SELECT id FROM search_document ORDER BY id")).all() == before
