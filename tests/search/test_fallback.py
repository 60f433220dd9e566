"""Meilisearch unreachable: search answers from postgres and says so; the outbox waits for it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from directory.api.app import create_app
from directory.config import Settings
from directory.listings.models import SearchOutbox
from directory.search import service
from directory.search.backends import Backends
from directory.search.meilisearch import MeiliBackend
from directory.search.query import SearchQuery
from directory.search.sync import drain
from tests.api.test_services import create
from tests.conftest import bearer

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there


def closed() -> Backends:
    return Backends(MeiliBackend(CLOSED, None, timeout=1.0))


def test_search_falls_back_to_postgres_and_says_degraded(session: Session) -> None:
    query = SearchQuery(q="counseling", near=(27.9506, -82.4572))
    normal = service.search(session, query)
    fallback = service.search(session, query, backends=closed())
    assert fallback.degraded is True and fallback.backend == "postgres"
    assert [i.location_id for i in fallback.items] == [i.location_id for i in normal.items]
    assert normal.degraded is False


def test_the_api_answers_degraded_when_meilisearch_is_down(
    session_factory: sessionmaker[Session], database_url: str, session: Session
) -> None:
    settings = Settings(database_url=database_url, search_backend="meilisearch", meili_url=CLOSED)
    app = create_app(settings, session_factory=session_factory)
    headers = bearer(session, "mentor")
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/v1/search", json={"q": "counseling"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["degraded"] is True and response.json()["total"] > 0


def test_while_meilisearch_is_down_postgres_syncs_and_the_outbox_waits(
    session_factory: sessionmaker[Session], session: Session, coordinator: dict[str, str]
) -> None:
    app = create_app(Settings(), session_factory=session_factory)
    with TestClient(app) as client:
        created = create(client, coordinator, name="Wombat Peer Warmline")
    newest = session.scalar(select(func.max(SearchOutbox.id)))
    assert drain(session_factory, backends=closed()) >= 1  # the postgres index took the change
    found = service.search(session, SearchQuery(q="wombat"))
    assert [str(i.service_id) for i in found.items] == [created["id"]]
    waiting = session.scalar(select(SearchOutbox.meili_synced_at).where(SearchOutbox.id == newest))
    assert waiting is None  # Meilisearch has not confirmed it: the row waits for it
