"""The outbox feeds both indexes; a rebuild refills them; late commits are never skipped."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from directory.listings.models import SearchOutbox, Service
from directory.search.backends import Backends
from directory.search.documents import Document
from directory.search.meilisearch import MeiliBackend
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
    before = session.scalar(text("SELECT count(*) FROM search_document"))
    session.execute(text("DELETE FROM search_document"))
    session.execute(
        text(
            "INSERT INTO search_outbox (entity, entity_id, operation)"
            " SELECT 'service', id, 'upsert' FROM service LIMIT 3"
        )
    )
    written = rebuild(session_factory, backends=Backends())
    assert written == before == session.scalar(text("SELECT count(*) FROM search_document"))
    pending = session.scalar(
        select(func.count()).select_from(SearchOutbox).where(SearchOutbox.processed_at.is_(None))
    )
    assert pending == 0
