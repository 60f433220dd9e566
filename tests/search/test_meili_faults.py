"""Meilisearch slow or unreachable while listings change: search answers from postgres in a
bounded time and says so, the change waits in the outbox, and once Meilisearch answers again a
sync pass delivers it (nothing lost). Meilisearch is played at its HTTP boundary: a server that
holds every request past the client's timeout, then a fake that takes documents and reports
their tasks succeeded (``FakeMeili``)."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from werkzeug import Request, Response

from directory.api.app import create_app
from directory.config import Settings
from directory.listings.models import SearchOutbox
from directory.search import service
from directory.search.backends import Backends
from directory.search.meilisearch import MeiliBackend
from directory.search.query import SearchQuery
from directory.search.sync import drain
from tests.api.test_services import create
from tests.search.test_meilisearch import FakeMeili, serving

T = TypeVar("T")
WRITE_TIMEOUT = 0.5  # seconds: the backend's, for documents and tasks
SEARCH_TIMEOUT = 0.3  # seconds: the backend's, for a search
STALL = 10.0  # seconds a stalled request is held at most (far past either timeout)


def timed(call: Callable[[], T]) -> tuple[T, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@contextmanager
def stalling() -> Iterator[HTTPServer]:
    """A server that accepts every request and answers none in time (held until it closes)."""
    released = threading.Event()

    def stall(_: Request) -> Response:
        released.wait(STALL)
        return Response("too late", status=503)

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile(".*")).respond_with_handler(stall)
    server.start()
    try:
        yield server
    finally:
        released.set()
        server.clear()
        server.stop()


def healthy(server: HTTPServer) -> FakeMeili:
    """Meilisearch taking documents (deleted, then added) and reporting its tasks succeeded."""
    meili = FakeMeili(server)
    meili.accepts("/indexes/services/documents/delete", "POST", "documentDeletion")
    meili.accepts("/indexes/services/documents", "POST", "documentAdditionOrUpdate")
    return meili


def only_this_change_pending(session: Session) -> None:
    """Mark every change Meilisearch has not confirmed as confirmed (in this test's
    transaction), so that what waits afterwards is the test's own."""
    pending = SearchOutbox.meili_synced_at.is_(None)
    session.execute(update(SearchOutbox).where(pending).values(meili_synced_at=func.now()))


def waiting_for_meili(session: Session) -> set[uuid.UUID]:
    """The listings whose changes Meilisearch has not confirmed."""
    rows = select(SearchOutbox.entity_id).where(SearchOutbox.meili_synced_at.is_(None))
    return set(session.scalars(rows))


def delivered(meili: FakeMeili) -> list[dict[str, Any]]:
    """Every document Meilisearch was sent."""
    return [doc for batch in meili.sent("/indexes/services/documents") for doc in batch]


def test_a_slow_meilisearch_costs_one_search_its_timeout_and_loses_no_change(
    session_factory: sessionmaker[Session], session: Session, coordinator: dict[str, str]
) -> None:
    only_this_change_pending(session)
    with TestClient(create_app(Settings(), session_factory=session_factory)) as client:
        created = create(client, coordinator, name="Numbat Peer Warmline")
    listing = uuid.UUID(created["id"])
    query = SearchQuery(q="numbat")
    with stalling() as server:
        port = server.port
        backends = Backends(
            MeiliBackend(
                f"http://127.0.0.1:{port}",
                None,
                timeout=WRITE_TIMEOUT,
                search_timeout=SEARCH_TIMEOUT,
            )
        )
        synced, sync_took = timed(lambda: drain(session_factory, backends=backends))
        normal = service.search(session, query)  # postgres alone, and warm
        found, took = timed(lambda: service.search(session, query, backends=backends))
        again, again_took = timed(lambda: service.search(session, query, backends=backends))
    print(f"slow Meilisearch: sync pass {sync_took:.2f} s, search {took:.2f} s, {again_took:.2f} s")
    # the postgres index took the change; the send and the settings' retry each timed out once
    assert synced >= 1 and 2 * WRITE_TIMEOUT <= sync_took < 2 * WRITE_TIMEOUT + 3
    assert found.degraded is True and found.backend == "postgres"
    assert [i.service_id for i in found.items] == [i.service_id for i in normal.items] == [listing]
    assert SEARCH_TIMEOUT <= took < SEARCH_TIMEOUT + 1.5  # it waited for Meilisearch, once
    assert again.degraded is True and again_took < 1  # within the cooldown: not asked again
    assert waiting_for_meili(session) == {listing}

    with serving(port) as server:  # Meilisearch answers again, at the same address
        meili = healthy(server)
        drain(session_factory, backends=backends)
        sent = delivered(meili)
    assert waiting_for_meili(session) == set()
    assert {doc["service_id"] for doc in sent} == {created["id"]}
    assert {doc["name_text"] for doc in sent} == {"Numbat Peer Warmline"}
    assert meili.polled == set(meili.tasks)  # marked done only once its tasks succeeded


def test_an_edit_while_meilisearch_is_unreachable_is_searchable_at_once_and_waits_for_it(
    session_factory: sessionmaker[Session], session: Session, coordinator: dict[str, str]
) -> None:
    with serving() as server:
        port = server.port  # closed from now on: connections are refused
    settings = Settings(search_backend="meilisearch", meili_url=f"http://127.0.0.1:{port}")
    app = create_app(settings, session_factory=session_factory)
    backends: Backends = app.state.backends
    with TestClient(app) as client:
        created = create(client, coordinator, name="Quokka Peer Warmline")
        drain(session_factory)  # indexed in postgres, as before the fault
        only_this_change_pending(session)  # and in Meilisearch
        url = f"/v1/services/{created['id']}"
        edit = {"name": "Quoll Peer Warmline"}
        edited = client.patch(url, json=edit, headers={**coordinator, "If-Match": '"1"'})
        assert edited.status_code == 200, edited.text  # committed, Meilisearch or not
        synced, sync_took = timed(lambda: drain(session_factory, backends=backends))
        search = {"q": "quoll"}
        found = client.post("/v1/search", json=search, headers=coordinator).json()
        old = client.post("/v1/search", json={"q": "quokka"}, headers=coordinator).json()
    print(f"unreachable Meilisearch: sync pass {sync_took:.2f} s")
    assert synced >= 1 and sync_took < 4  # under the 5 s write timeout: a refusal is not waited
    assert found["degraded"] is True
    assert [item["service_id"] for item in found["items"]] == [created["id"]]
    assert created["id"] not in [item["service_id"] for item in old["items"]]
    assert waiting_for_meili(session) == {uuid.UUID(created["id"])}

    with serving(port) as server:
        meili = healthy(server)
        drain(session_factory, backends=backends)
        sent = delivered(meili)
    assert waiting_for_meili(session) == set()
    assert {doc["name_text"] for doc in sent} == {"Quoll Peer Warmline"}
