"""One conformance suite for both search backends: the same queries, the same expectations.

``postgres`` always runs. ``meilisearch`` runs against a real server when
``DIRECTORY_TEST_MEILI_URL`` is set (``DIRECTORY_TEST_MEILI_KEY`` too when the server has a master
key): the seed listings go into a throwaway index, deleted afterwards. Meilisearch cannot be
installed on the machines that run CI, so there its half skips (its backend is also tested at
the HTTP boundary in test_meilisearch.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from meilisearch.errors import MeilisearchError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from directory.listings.demo import demo_services
from directory.listings.models import Service
from directory.search import service
from directory.search.backends import Backends
from directory.search.meilisearch import MeiliBackend
from directory.search.query import SearchQuery, SearchResponse
from directory.search.sync import documents_of

URL = os.environ.get("DIRECTORY_TEST_MEILI_URL")
TAMPA = (27.9506, -82.4572)
SUNDAY_NOON_TAMPA = dt.datetime(2026, 11, 29, 17, 0, tzinfo=dt.UTC)
TUESDAY_10AM_TAMPA = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
NO_SERVER = "no Meilisearch server: set DIRECTORY_TEST_MEILI_URL (it cannot be installed here)"


@pytest.fixture(
    params=[
        "postgres",
        pytest.param("meilisearch", marks=pytest.mark.skipif(not URL, reason=NO_SERVER)),
    ]
)
def backend(request: pytest.FixtureRequest, session: Session) -> Iterator[Backends]:
    """The backends a search goes through; for Meilisearch, the published seed listings in an
    index of their own."""
    if request.param == "postgres":
        yield Backends()
        return
    assert URL is not None
    meili = MeiliBackend(
        URL, os.environ.get("DIRECTORY_TEST_MEILI_KEY"), index=f"test_{uuid.uuid4().hex[:12]}"
    )
    published = select(Service.id).where(
        Service.curation_status == "published", Service.status == "active"
    )
    try:
        indexed = meili.rebuild([documents_of(session, list(session.scalars(published)))])
        assert indexed > 50
        yield Backends(meili)
    finally:  # never hide the test's own failure behind one of the clean-up
        with contextlib.suppress(MeilisearchError):
            meili.client.wait_for_task(meili.client.delete_index(meili.uid).task_uid)


@pytest.fixture
def find(backend: Backends, session: Session) -> Any:
    """Search through the service function, on the backend under test (never a fallback)."""

    def search(now: dt.datetime | None = None, **fields: Any) -> SearchResponse:
        query = SearchQuery.model_validate(fields)
        found = service.search(session, query, backends=backend, now=now)
        assert not found.degraded
        assert found.backend == ("meilisearch" if backend.meili else "postgres")
        return found

    return search


def names(response: SearchResponse) -> list[str]:
    return [item.name for item in response.items]


def test_near_a_point_results_are_within_the_radius_nearest_first(
    find: Any, session: Session
) -> None:
    found = find(near=TAMPA, radius_km=10, mode="in_person", sort="distance", per_page=100)
    assert found.total > 5 and len(found.items) == found.total
    distances = [item.distance_km for item in found.items]
    assert all(d is not None and d <= 10.05 for d in distances)  # haversine vs the spheroid
    assert distances == sorted(distances)  # type: ignore[type-var]
    for item in found.items:
        expected = session.scalar(
            text(
                "SELECT ST_Distance(point, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)::geography)"
                " FROM location WHERE id = :id"
            ),
            {"lat": TAMPA[0], "lng": TAMPA[1], "id": item.location_id},
        )
        assert item.distance_km == pytest.approx(expected / 1000, rel=0.005, abs=0.002)
        assert item.match == "near"


def test_words_sorted_by_distance_are_nearest_first(find: Any) -> None:
    found = find(q="counseling", near=TAMPA, sort="distance", per_page=100)
    sites = [item.distance_km for item in found.items if item.match == "near"]
    assert len(sites) > 1 and sites == sorted(sites)  # type: ignore[type-var]
    matches = [item.match == "near" for item in found.items]
    assert matches == sorted(matches, reverse=True)  # sites first, then services to the area


def test_typos_and_spanish_find_what_the_right_word_finds(find: Any) -> None:
    right = find(q="anxiety", near=TAMPA)
    assert right.total > 0
    assert all(any(n["code"] == "anxiety" for n in item.needs) for item in right.items[:3])
    assert find(q="anxeity", near=TAMPA).total == right.total
    assert find(q="ansiedad", near=TAMPA).total > 0
    counseling = find(q="counseling", near=TAMPA, per_page=100)
    misspelt = find(q="councelling", near=TAMPA, per_page=100)
    assert 0 < misspelt.total <= counseling.total
    assert {i.location_id for i in misspelt.items} <= {i.location_id for i in counseling.items}
    assert find(q="therapy", near=TAMPA).total >= counseling.total  # a synonym


def test_query_syntax_is_text(find: Any) -> None:
    for q in ['"', "' OR 1=1 --", "anxiety AND OR NOT", "(anxiety", "a:*", "\\", "&|!", "-x"]:
        assert find(q=q, near=TAMPA).total >= 0
    quoted = find(q='"anxiety"', near=TAMPA)
    assert quoted.total == find(q="anxiety", near=TAMPA).total > 0


def test_a_need_includes_its_children_and_languages_must_all_be_offered(
    find: Any,
) -> None:
    parent = find(need=["mental-health"], per_page=100)
    child = find(need=["anxiety"], per_page=100)
    assert child.total > 0
    assert {i.location_id for i in child.items} <= {i.location_id for i in parent.items}
    both = find(language=["es", "ht"], per_page=100)
    assert both.total > 0
    assert all({"es", "ht"} <= set(item.languages) for item in both.items)


def test_open_now_is_in_the_listing_time_zone(find: Any) -> None:
    sunday = find(now=SUNDAY_NOON_TAMPA, near=TAMPA, open_now=True, per_page=100)
    tuesday = find(now=TUESDAY_10AM_TAMPA, near=TAMPA, open_now=True, per_page=100)
    assert "988 Suicide & Crisis Lifeline" in names(sunday)  # 24/7
    assert "Telepsychiatry Clinic (demo)" not in names(sunday)  # weekdays 8-20
    assert "Telepsychiatry Clinic (demo)" in names(tuesday)
    assert all(item.open_now for item in sunday.items + tuesday.items)


def test_facets_count_the_whole_match_set(find: Any) -> None:
    found = find(near=TAMPA, q="counseling", per_page=1)
    assert len(found.items) == 1
    for code, count in list(found.facets.needs.items())[:6]:
        assert find(near=TAMPA, q="counseling", need=[code]).total == count
    for code, count in found.facets.languages.items():
        assert find(near=TAMPA, q="counseling", language=[code]).total == count


def test_pages_do_not_overlap(find: Any) -> None:
    first = find(near=TAMPA, per_page=5, page=1)
    second = find(near=TAMPA, per_page=5, page=2)
    assert first.total == second.total > 10
    keys = [(i.service_id, i.location_id) for i in first.items + second.items]
    assert len(set(keys)) == 10


def test_demo_listings_are_marked_and_no_others(find: Any, session: Session) -> None:
    found = find(q="crisis", near=TAMPA, per_page=100)
    marked = {(item.service_id, item.name, item.demo) for item in found.items}
    assert ("Bay Area Crisis & Suicide Line (demo)", True) in {(n, d) for _, n, d in marked}
    assert ("988 Suicide & Crisis Lifeline", False) in {(n, d) for _, n, d in marked}
    demo = set(session.scalars(demo_services()))
    assert all(flag == (service_id in demo) for service_id, _, flag in marked)
