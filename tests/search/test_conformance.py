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
from directory.listings.schemas import ServiceCreate
from directory.listings.service import create_service
from directory.search import postgres_words, service
from directory.search.backends import Backends
from directory.search.meilisearch import MeiliBackend
from directory.search.query import SearchQuery, SearchResponse, SearchResult
from directory.search.sync import documents_of, sync_batch

URL = os.environ.get("DIRECTORY_TEST_MEILI_URL")
TAMPA = (27.9506, -82.4572)
CLEARWATER = (27.9659, -82.8001)
MIAMI = (25.7617, -80.1918)  # in Florida, far from every demo site
KM = 1 / 111.2  # degrees of latitude in a kilometre
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
        postgres_words.forget()  # word frequencies learnt over another test's listings
        yield Backends()
        return
    assert URL is not None
    meili = MeiliBackend(
        URL, os.environ.get("DIRECTORY_TEST_MEILI_KEY"), index=f"test_{uuid.uuid4().hex[:12]}"
    )
    published = select(Service.id).where(
        Service.curation_status == "published", Service.status == "active"
    )
    postgres_words.forget()  # word frequencies learnt over another test's listings
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


# --- relevance: natural questions, both languages, needs named in words, crisis phrases ---------


def needs_of(item: SearchResult) -> set[str]:
    return {need["code"] for need in item.needs}


def add_listing(session: Session, backend: Backends, key: str, **fields: Any) -> uuid.UUID:
    """A published listing of the test's own, in the index of the backend under test."""
    body = {
        "name": f"Zebrafinch {key}",
        "description": "A test listing.",
        "curation_status": "published",
        "organization": {"name": f"Org {key}"},
        "needs": ["peer-support"],
        "provenance": {"source": "test", "external_id": key},
        **fields,
    }
    created = create_service(session, ServiceCreate.model_validate(body))
    sync_batch(session)
    if backend.meili is not None:
        backend.meili.replace([created], documents_of(session, [created]))
    postgres_words.forget()
    return created


def site(latitude: float, longitude: float = TAMPA[1], **fields: Any) -> dict[str, Any]:
    return {"latitude": latitude, "longitude": longitude, "location_type": "physical", **fields}


def test_filler_words_do_not_decide_a_question(find: Any) -> None:
    """ "I need help with my anxiety" is a search for anxiety: the other words change nothing."""
    for question, word in (
        ("I need help with my anxiety", "anxiety"),
        ("ayuda para la depresión", "depresión"),
        ("where can I find help for depression near me", "depression"),
    ):
        asked = find(q=question, near=TAMPA, per_page=10)
        plain = find(q=word, near=TAMPA, per_page=10)
        assert asked.total > 0
        assert [i.service_id for i in asked.items] == [i.service_id for i in plain.items]


@pytest.mark.parametrize(
    ("question", "near", "need", "expected"),
    [
        ("I need help with my anxiety", TAMPA, "anxiety", "Anxiety & Depression Counseling (demo)"),
        ("ayuda para la depresión", TAMPA, "depression", "Anxiety & Depression Counseling (demo)"),
        ("where can my son get counseling", TAMPA, "counseling", "Teen Counseling (demo)"),
        ("terapia para mi hijo adolescente", TAMPA, "counseling", "Teen Counseling (demo)"),
        ("desintoxicación cerca", CLEARWATER, "detox", "Medically Monitored Detox (demo)"),
        ("detox", CLEARWATER, "detox", "Medically Monitored Detox (demo)"),
        ("grief group", TAMPA, "grief", "Grief Support Circles (demo)"),
        ("grupo de duelo", TAMPA, "grief", "Grief Support Circles (demo)"),
    ],
)
def test_natural_questions_find_the_services_they_ask_for(
    find: Any, question: str, near: tuple[float, float], need: str, expected: str
) -> None:
    found = find(q=question, near=near, per_page=10)
    top = found.items[:5]
    assert expected in [item.name for item in top], names(found)
    assert need in needs_of(found.items[0]), names(found)
    having = sum(need in needs_of(item) for item in found.items)
    assert sum(need in needs_of(item) for item in top) >= min(3, having)


def test_a_question_need_not_match_in_full(find: Any) -> None:
    """Every word need not match: the listings that match it all first, partial matches after
    (grief counselling for "grief group")."""
    found = find(q="grief group", near=TAMPA, radius_km=60, per_page=100)
    full = [k for k, i in enumerate(found.items) if {"grief", "support-groups"} <= needs_of(i)]
    partial = [k for k, i in enumerate(found.items) if needs_of(i) & {"grief", "support-groups"}]
    partial = [k for k in partial if k not in full]
    assert len(full) >= 2 and partial
    assert max(full) < min(partial)


def test_a_spanish_question_finds_a_service_described_in_english_and_back(
    find: Any, session: Session, backend: Backends
) -> None:
    english = add_listing(
        session,
        backend,
        "zx-lonely",
        description="Evening calls for older adults who feel lonely after moving.",
        locations=[site(MIAMI[0] + 2 * KM, MIAMI[1])],
    )
    spanish = add_listing(
        session,
        backend,
        "zx-soledad",
        description="Llamadas para personas mayores que sienten soledad.",
        locations=[site(MIAMI[0] + 3 * KM, MIAMI[1])],
    )
    for question in ("ayuda con la soledad", "help with loneliness", "lonely"):
        found = [i.service_id for i in find(q=question, near=MIAMI, radius_km=10).items]
        assert set(found[:2]) == {english, spanish}, question


def test_a_need_named_in_words_finds_listings_without_the_word(
    find: Any, session: Session, backend: Backends
) -> None:
    house = add_listing(
        session,
        backend,
        "zx-house",
        description="Short stays with nursing care.",
        needs=["detox"],
        locations=[site(TAMPA[0] + 2 * KM)],
    )
    for question in ("desintoxicación", "detox for my brother", "withdrawal"):
        found = find(q=question, near=TAMPA, per_page=5)
        assert found.items and found.items[0].service_id == house, question


def test_a_crisis_phrase_brings_the_crisis_lines_and_crisis_services(find: Any) -> None:
    for question in ("I want to kill myself", "quiero morir", "no quiero vivir"):
        found = find(q=question, near=TAMPA, per_page=10)
        assert found.crisis is not None and found.crisis.reason == "query"
        assert found.crisis.lines[0].name == "988 Suicide & Crisis Lifeline"
        assert found.total >= 5, question
        assert all(needs_of(item) & {"crisis", "suicide-prevention"} for item in found.items)
        assert "988 Suicide & Crisis Lifeline" in names(find(q=question, near=TAMPA, per_page=50))


# --- places: one result per listing, distances, telehealth ----------------------------------------


def test_no_listing_is_listed_twice(find: Any) -> None:
    for fields in (
        {"near": TAMPA, "radius_km": 50},
        {"near": TAMPA, "q": "counseling"},
        {"near": TAMPA, "sort": "distance"},
        {"q": "anxiety"},
        {},
    ):
        found = find(per_page=100, **fields)
        ids = [item.service_id for item in found.items]
        assert len(ids) == len(set(ids)), fields
        assert found.total == len(ids) or found.total > 100


def test_a_listing_with_several_sites_shows_its_nearest(find: Any, session: Session) -> None:
    name = "Anxiety & Depression Counseling (demo)"
    sites = session.execute(
        text(
            "SELECT l.id, ST_Distance(l.point,"
            " ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)::geography) AS m"
            " FROM location l JOIN service_at_location sal ON sal.location_id = l.id"
            " JOIN service s ON s.id = sal.service_id WHERE s.name = :name ORDER BY m"
        ),
        {"lat": TAMPA[0], "lng": TAMPA[1], "name": name},
    ).all()
    assert len(sites) == 3
    for fields in ({"q": "anxiety"}, {"q": "anxiety", "sort": "distance"}, {}):
        found = find(near=TAMPA, radius_km=50, per_page=100, **fields)
        (item,) = [i for i in found.items if i.name == name]
        assert item.location_id == sites[0].id, fields
        assert item.distance_km == pytest.approx(sites[0].m / 1000, rel=0.005, abs=0.002)


def test_telehealth_with_a_clinic_keeps_its_distance_and_is_listed_once(
    find: Any, session: Session, backend: Backends
) -> None:
    both = add_listing(
        session,
        backend,
        "zx-telehealth",
        description="Video visits anywhere in Florida, and a clinic.",
        needs=["counseling"],
        locations=[
            site(TAMPA[0] + 4 * KM, name="Clinic"),
            {"name": "Video visits", "location_type": "virtual"},
        ],
        service_areas=[{"name": "Florida", "regions": ["US-FL"]}],
    )
    for fields in ({}, {"q": "zebrafinch"}, {"sort": "distance"}, {"q": "counseling"}):
        found = find(near=TAMPA, per_page=100, **fields)
        mine = [i for i in found.items if i.service_id == both]
        assert len(mine) == 1, fields
        assert mine[0].match == "near" and mine[0].distance_km == pytest.approx(4.0, abs=0.05)
    far = find(near=MIAMI, q="zebrafinch", per_page=100)
    mine = [i for i in far.items if i.service_id == both]
    assert [(i.match, i.distance_km, i.location_id) for i in mine] == [("serves_area", None, None)]
    virtual = find(near=TAMPA, q="zebrafinch", mode="virtual")
    assert [(i.service_id, i.match) for i in virtual.items] == [(both, "serves_area")]


def test_a_distance_from_a_zip_centre_says_it_is_approximate(
    find: Any, session: Session, backend: Backends
) -> None:
    centre = add_listing(
        session,
        backend,
        "zx-centre",
        locations=[site(TAMPA[0] + 2 * KM, coordinates_approximate=True)],
    )
    exact = add_listing(session, backend, "zx-exact", locations=[site(TAMPA[0] + 3 * KM)])
    found = {i.service_id: i for i in find(near=TAMPA, q="zebrafinch", per_page=100).items}
    assert found[centre].distance_approximate is True
    assert found[exact].distance_approximate is False
    assert found[centre].distance_km == pytest.approx(2.0, abs=0.05)
    remote = find(near=TAMPA, mode="virtual", per_page=100)
    assert remote.items and not any(i.distance_approximate for i in remote.items)
    anywhere = find(q="zebrafinch", per_page=100)  # no place: no distance to qualify
    assert all(i.distance_km is None and not i.distance_approximate for i in anywhere.items)
