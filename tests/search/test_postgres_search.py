"""Search on the postgres backend over the seed data (50 demo listings in Tampa Bay and the
national crisis lines), through the service function the API calls. What both backends must
do alike is in test_conformance.py; here: exact PostGIS distances, ranking, filters, the crisis
rule."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from directory.errors import InvalidInput
from directory.listings.demo import demo_services
from directory.listings.schemas import ServiceCreate
from directory.listings.service import create_service
from directory.search import postgres_words, service
from directory.search.query import SearchQuery, SearchResponse
from directory.search.sync import sync_batch

TAMPA = (27.9506, -82.4572)  # downtown Tampa
LIFELINE = "988 Suicide & Crisis Lifeline"
SUNDAY_NOON_TAMPA = dt.datetime(2026, 11, 29, 17, 0, tzinfo=dt.UTC)
TUESDAY_10AM_TAMPA = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)


def find(session: Session, now: dt.datetime | None = None, **fields: Any) -> SearchResponse:
    return service.search(session, SearchQuery.model_validate(fields), now=now)


def names(response: SearchResponse) -> list[str]:
    return [item.name for item in response.items]


def test_near_a_point_results_are_within_the_radius_and_distances_are_postgis_ones(
    session: Session,
) -> None:
    found = find(session, near=TAMPA, radius_km=10, mode="in_person", sort="distance", per_page=100)
    assert found.total > 5 and len(found.items) == found.total
    distances = [item.distance_km for item in found.items]
    assert all(d is not None and d <= 10 for d in distances)
    assert distances == sorted(distances)  # type: ignore[type-var]
    for item in found.items:
        expected = session.scalar(
            text(
                "SELECT ST_Distance(point, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)::geography)"
                " FROM location WHERE id = :id"
            ),
            {"lat": TAMPA[0], "lng": TAMPA[1], "id": item.location_id},
        )
        assert item.distance_km == pytest.approx(expected / 1000, abs=0.001)
        assert item.match == "near"


def test_accessibility_mode_cost_and_age(session: Session) -> None:
    signing = find(session, accessibility=["sign-language-interpreter", "tty"], per_page=100)
    assert "Deaf & Hard of Hearing Counseling (demo)" in names(signing)
    assert all({"sign-language-interpreter", "tty"} <= set(i.accessibility) for i in signing.items)
    virtual = find(session, mode="virtual", near=TAMPA, per_page=100)
    assert virtual.total > 0
    assert all(i.distance_km is None and i.match == "serves_area" for i in virtual.items)
    assert all(i.location_id is None for i in virtual.items)
    in_person = find(session, mode="in_person", near=TAMPA, per_page=100)
    assert all(i.match == "near" and i.distance_km is not None for i in in_person.items)
    assert find(session, cost=["free"], near=TAMPA).total > 0
    with pytest.raises(InvalidInput, match="unknown cost option"):  # as an unknown need is
        find(session, cost=["no-such-cost"])


def test_relevance_first_then_distance_bands(session: Session) -> None:
    """A better match (more of the question) is not pushed down by a closer one; equal matches
    go nearest first."""
    km = 1 / 111.2  # degrees of latitude per km
    far_better = listing(session, "zx-3", "Zebrafinch Quokka group", TAMPA[0] + 20 * km)
    near = listing(session, "zx-1", "Zebrafinch group", TAMPA[0] + 1 * km)
    farther = listing(session, "zx-2", "Zebrafinch group", TAMPA[0] + 8 * km)
    sync_batch(session)
    found = find(session, q="zebrafinch quokka", near=TAMPA, radius_km=50)
    assert [i.service_id for i in found.items] == [far_better, near, farther]
    by_distance = find(session, q="zebrafinch quokka", near=TAMPA, radius_km=50, sort="distance")
    assert [i.service_id for i in by_distance.items] == [near, farther, far_better]
    without_words = find(session, near=TAMPA, mode="in_person", per_page=100)
    distances = [i.distance_km or 0 for i in without_words.items]
    assert distances == sorted(distances)


def listing(session: Session, key: str, name: str, latitude: float) -> uuid.UUID:
    doc = ServiceCreate.model_validate(
        {
            "name": name,
            "description": "A test listing.",
            "organization": {"name": f"Org {key}"},
            "locations": [{"latitude": latitude, "longitude": TAMPA[1]}],
            "needs": ["peer-support"],
            "provenance": {"source": "test", "external_id": key},
        }
    )
    return create_service(session, doc)


def test_unknown_need_and_zip_are_422(session: Session) -> None:
    with pytest.raises(InvalidInput) as need:
        find(session, need=["no-such-need"])
    assert need.value.field == "need"
    with pytest.raises(InvalidInput) as postcode:
        find(session, postcode="00000")
    assert postcode.value.field == "postcode"


# --- the crisis rule ----------------------------------------------------------------------------


def test_a_risk_phrase_brings_the_crisis_lines_988_first(session: Session) -> None:
    found = find(session, q="my friend wants to kill himself, I want to die", postcode="33602")
    assert found.crisis is not None and found.crisis.reason == "query"
    assert found.crisis.lines[0].name == "988 Suicide & Crisis Lifeline"
    assert found.crisis.country == "US" and found.crisis.region == "US-FL"
    assert found.crisis.lines[0].phones[0].tel_uri == "tel:988"


def test_the_crisis_need_brings_the_lines_whatever_the_page_and_filters(
    session: Session,
) -> None:
    found = find(session, need=["suicide-prevention"], page=3, language=["es"], near=TAMPA)
    assert found.crisis is not None and found.crisis.reason == "need"
    assert found.crisis.lines[0].name == "988 Suicide & Crisis Lifeline"
    assert all("es" in line.languages for line in found.crisis.lines)
    assert find(session, q="skills group", near=TAMPA).crisis is None
    assert find(session, need=["food"], near=TAMPA).crisis is None


def test_crisis_lines_follow_the_country(session: Session) -> None:
    canada = service.crisis_lines(session, country="CA")
    assert canada.lines and "CA" in canada.lines[0].serves
    assert "988" in canada.lines[0].name or canada.lines[0].phones[0].tel_uri == "tel:988"
    assert all("CA" in line.serves for line in canada.lines)
    britain = service.crisis_lines(session, country="GB")
    assert any("Samaritans" in line.name for line in britain.lines)


def test_a_state_line_serves_only_its_state(session: Session) -> None:
    doc = ServiceCreate.model_validate(
        {
            "name": "Florida Test Crisis Line",
            "curation_status": "published",
            "organization": {"name": "Test crisis center"},
            "needs": ["crisis"],
            "crisis_channels": [{"channel": "call", "number": "(850) 555-0142", "country": "US"}],
            "service_areas": [{"name": "Florida", "regions": ["US-FL"]}],
            "provenance": {"source": "test", "external_id": "fl-line"},
        }
    )
    create_service(session, doc)
    sync_batch(session)
    florida = {line.name for line in service.crisis_lines(session, postcode="33602").lines}
    new_york = {line.name for line in service.crisis_lines(session, postcode="10001").lines}
    assert florida - new_york == {"Florida Test Crisis Line"}  # not the demo region's own line
    assert "988 Suicide & Crisis Lifeline" in florida & new_york


def test_a_person_in_crisis_is_never_handed_a_demo_listing(session: Session) -> None:
    demo_line = "Bay Area Crisis & Suicide Line (demo)"
    serves_tampa = session.scalar(  # it would qualify as a crisis line, but for being demo
        text(
            "SELECT count(*) FROM search_document d JOIN search_result r USING (id)"
            " WHERE d.name = :name AND d.kind = 'area'"
            " AND jsonb_array_length(r.body -> 'crisis_channels') > 0 AND 'US-FL' = ANY(d.regions)"
        ),
        {"name": demo_line},
    )
    assert serves_tampa == 1
    found = find(session, q="suicide", postcode="33602", per_page=100)
    assert found.crisis is not None and found.crisis.lines
    assert found.crisis.lines[0].name == LIFELINE
    demo = set(session.scalars(demo_services()))
    assert not demo & {line.service_id for line in found.crisis.lines}
    assert not [line.name for line in found.crisis.lines if "(demo)" in line.name]
    requested = service.crisis_lines(session, postcode="33602")
    assert requested.lines and not demo & {line.service_id for line in requested.lines}
    marked = {item.name: item.demo for item in found.items}  # plain search still has them
    assert marked[demo_line] is True
    unit = find(session, q="crisis stabilization", postcode="33602")
    assert ("Adult Crisis Stabilization Unit (demo)", True) in {
        (i.name, i.demo) for i in unit.items
    }
    lifeline = find(session, q="988 lifeline", country="US")
    assert [(i.name, i.demo) for i in lifeline.items[:1]] == [(LIFELINE, False)]


def test_the_search_statement_can_use_its_indexes(session: Session) -> None:
    """With sequential scans priced out, the plan must reach the GIN and GiST indexes: a query
    shape that cannot use them would still show a sequential scan."""
    plans: list[str] = []
    real = session.execute

    def explain(statement: Any, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        if "WITH found" in str(statement):
            compiled = statement.compile(dialect=session.get_bind().dialect)
            explained = session.connection().exec_driver_sql(
                "EXPLAIN " + str(compiled), compiled.params | (params or {})
            )
            plans.append("\n".join(explained.scalars().all()))
        return real(statement, params, *args, **kwargs)

    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute = explain  # type: ignore[method-assign]
    try:
        find(session, near=TAMPA)
        find(session, q="counseling", near=TAMPA, language=["es"])
        find(session, need=["anxiety"], accessibility=["wheelchair"])
        find(session, q="counseling")
    finally:
        del session.execute
    near, words_only = plans[0], plans[3]
    assert "ix_search_document_point" in near and "ix_search_document_regions" in near
    assert "ix_search_document_tsv" in words_only
    for plan in plans:
        assert "Seq Scan on search_document" not in plan
        assert "Index Scan on ix_search_document_" in plan


def test_a_general_service_answers_a_narrower_need_below_the_services_for_it(
    session: Session,
) -> None:
    general = create_service(
        session,
        ServiceCreate.model_validate(
            {
                "name": "Quokka Community Clinic",
                "description": "Walk-in appointments.",
                "organization": {"name": "Org quokka"},
                "locations": [{"latitude": TAMPA[0] + 0.01, "longitude": TAMPA[1]}],
                "needs": ["mental-health"],
                "provenance": {"source": "test", "external_id": "quokka-general"},
            }
        ),
    )
    sync_batch(session)
    postgres_words.forget()
    found = find(session, q="ayuda para la depresión", near=TAMPA, per_page=100)
    order = [i.service_id for i in found.items]
    assert general in order  # no word of it matches: its mental health care answers
    specific = [
        k for k, i in enumerate(found.items) if any(n["code"] == "depression" for n in i.needs)
    ]
    assert specific and max(specific[:3]) < order.index(general)
    misspelt = find(session, q="depresoin", near=TAMPA, per_page=100)  # names the same need
    assert {i.service_id for i in misspelt.items} == set(order)
