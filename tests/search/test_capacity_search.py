"""Capacity in search, the same on both backends: each result carries its listing's capacity and
its date, and ``accepting=true`` leaves out the listings with a waitlist or full, keeping those
accepting and those nobody has asked about (unknown, or no status at all).

``postgres`` always runs; ``meilisearch`` runs against a real server when
``DIRECTORY_TEST_MEILI_URL`` is set (see test_conformance.py): it cannot be installed here, so its
half skips, and its filter is also checked at the HTTP boundary in test_meilisearch.py's style
below.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from meilisearch.errors import MeilisearchError
from pytest_httpserver import HTTPServer
from sqlalchemy import update
from sqlalchemy.orm import Session

from directory.listings.models import Service
from directory.listings.schemas import ServiceCreate
from directory.listings.service import create_service
from directory.search import postgres_words, service
from directory.search.backends import Backends
from directory.search.meili_documents import meili_document
from directory.search.meilisearch import MeiliBackend, settings
from directory.search.query import SearchQuery, SearchResponse
from directory.search.sync import documents_of, sync_batch

URL = os.environ.get("DIRECTORY_TEST_MEILI_URL")
NO_SERVER = "no Meilisearch server: set DIRECTORY_TEST_MEILI_URL (it cannot be installed here)"
TAMPA = (27.9506, -82.4572)
HEARD = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
# name -> capacity; None: nobody has asked
CAPACITIES: dict[str, str | None] = {
    "accepting": "accepting",
    "waitlist": "waitlist",
    "full": "full",
    "unknown": "unknown",
    "unasked": None,
}


def add_listings(session: Session) -> dict[str, uuid.UUID]:
    """One published listing per capacity, near Tampa; the known ones heard of at ``HEARD``."""
    ids = {}
    for key, capacity in CAPACITIES.items():
        doc = {
            "name": f"Wombatwren {key}",
            "curation_status": "published",
            "organization": {"name": f"Org {key}"},
            "needs": ["peer-support"],
            "locations": [{"latitude": TAMPA[0], "longitude": TAMPA[1]}],
            "provenance": {"source": "test", "external_id": f"capacity-{key}"},
            "capacity_status": capacity,
        }
        ids[key] = create_service(session, ServiceCreate.model_validate(doc))
        if capacity is not None:
            session.execute(
                update(Service).where(Service.id == ids[key]).values(capacity_updated_at=HEARD)
            )
    sync_batch(session)
    postgres_words.forget()
    return ids


@pytest.fixture(
    params=[
        "postgres",
        pytest.param("meilisearch", marks=pytest.mark.skipif(not URL, reason=NO_SERVER)),
    ]
)
def listings(
    request: pytest.FixtureRequest, session: Session
) -> Iterator[tuple[Backends, dict[str, uuid.UUID]]]:
    """The test's listings, in the index of the backend under test (Meilisearch: its own)."""
    ids = add_listings(session)
    if request.param == "postgres":
        yield Backends(), ids
        return
    assert URL is not None
    meili = MeiliBackend(
        URL, os.environ.get("DIRECTORY_TEST_MEILI_KEY"), index=f"test_{uuid.uuid4().hex[:12]}"
    )
    try:
        meili.rebuild([documents_of(session, list(ids.values()))])
        yield Backends(meili), ids
    finally:
        with contextlib.suppress(MeilisearchError):
            meili.client.wait_for_task(meili.client.delete_index(meili.uid).task_uid)


def find(session: Session, backends: Backends, **fields: Any) -> SearchResponse:
    query = SearchQuery.model_validate({"q": "wombatwren", "per_page": 50, **fields})
    found = service.search(session, query, backends=backends)
    assert not found.degraded
    return found


def test_results_carry_capacity_and_its_date(
    session: Session, listings: tuple[Backends, dict[str, uuid.UUID]]
) -> None:
    backends, ids = listings
    found = {i.service_id: i for i in find(session, backends, near=TAMPA).items}
    assert {key: found[ids[key]].capacity_status for key in ids} == CAPACITIES
    assert found[ids["waitlist"]].capacity_updated_at == HEARD
    assert found[ids["unasked"]].capacity_updated_at is None


@pytest.mark.parametrize("near", [None, TAMPA])
def test_accepting_leaves_out_waitlist_and_full_only(
    session: Session,
    listings: tuple[Backends, dict[str, uuid.UUID]],
    near: tuple[float, float] | None,
) -> None:
    backends, ids = listings
    place = {} if near is None else {"near": near}
    kept = {i.service_id for i in find(session, backends, accepting=True, **place).items}
    assert kept == {ids["accepting"], ids["unknown"], ids["unasked"]}
    every = {i.service_id for i in find(session, backends, accepting=False, **place).items}
    assert every == set(ids.values())


def test_accepting_must_be_a_boolean() -> None:
    with pytest.raises(ValueError, match="accepting"):
        SearchQuery.model_validate({"accepting": "maybe"})


# --- Meilisearch at the HTTP boundary -----------------------------------------------------------


def test_meilisearch_is_asked_to_leave_out_waitlist_and_full(httpserver: HTTPServer) -> None:
    answer = {"hits": [], "query": "", "processingTimeMs": 1, "hitsPerPage": 20, "page": 1}
    answer |= {"totalPages": 0, "totalHits": 0, "facetDistribution": {}, "facetStats": {}}
    httpserver.expect_request("/indexes/services/search").respond_with_json(answer)
    backend = MeiliBackend(httpserver.url_for("/").rstrip("/"), "test-key")
    now = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
    backend.search(
        SearchQuery(need=["anxiety"], accepting=True), None, need_codes=["anxiety"], now=now
    )
    backend.search(SearchQuery(need=["anxiety"]), None, need_codes=["anxiety"], now=now)
    sent = [json.loads(r.get_data())["filter"] for r, _ in httpserver.log]
    assert sent == [
        '(needs IN ["anxiety"]) AND (capacity_status NOT IN ["waitlist", "full"])',
        '(needs IN ["anxiety"])',
    ]


def test_meilisearch_documents_hold_a_known_capacity_and_can_filter_on_it(
    session: Session,
) -> None:
    ids = add_listings(session)
    stored = {
        key: meili_document(doc)
        for key, service_id in ids.items()
        for doc in documents_of(session, [service_id])
    }
    assert {key: doc.get("capacity_status") for key, doc in stored.items()} == CAPACITIES
    assert stored["full"]["body"]["capacity_updated_at"] == HEARD.isoformat()
    assert "capacity_status" in settings()["filterableAttributes"]
