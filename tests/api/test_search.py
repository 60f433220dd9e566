"""GET and POST /v1/search and GET /v1/crisis-lines over HTTP: shapes, auth, bad input, sync."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from directory.search.sync import sync_batch
from tests.api.test_services import create

TAMPA = "27.9506,-82.4572"


def search(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/v1/search", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_result_has_what_a_mentor_needs(client: TestClient, mentor: dict[str, str]) -> None:
    body = search(client, mentor, q="counseling", near=TAMPA, language="es")
    assert body["backend"] == "postgres" and body["degraded"] is False
    assert body["total"] > 0 and isinstance(body["took_ms"], float)
    assert set(body["facets"]) == {"needs", "languages", "accessibility"}
    first = body["items"][0]
    for key in ("service_id", "location_id", "name", "organization", "snippet", "needs"):
        assert first[key]
    assert first["match"] == "near" and first["distance_km"] >= 0
    assert first["phones"][0]["tel_uri"].startswith("tel:+1")
    assert "es" in first["languages"] and first["address"]["postal_code"]
    assert {"open_now", "hours", "last_verified_at", "website", "accessibility"} <= set(first)
    assert body["crisis"] is None


def test_post_takes_the_same_fields_as_json(client: TestClient, mentor: dict[str, str]) -> None:
    by_url = search(client, mentor, q="peer support", need=["peer-support"], near=TAMPA)
    response = client.post(
        "/v1/search",
        json={"q": "peer support", "need": ["peer-support"], "near": [27.9506, -82.4572]},
        headers=mentor,
    )
    assert response.status_code == 200, response.text
    by_body = response.json()
    assert [i["location_id"] for i in by_body["items"]] == [
        i["location_id"] for i in by_url["items"]
    ]
    assert by_body["total"] == by_url["total"] > 0


def test_list_fields_repeat_or_take_commas(client: TestClient, mentor: dict[str, str]) -> None:
    repeated = client.get(
        "/v1/search?need=anxiety&need=depression&language=en", headers=mentor
    ).json()
    commas = client.get("/v1/search?need=anxiety,depression&language=en", headers=mentor).json()
    assert repeated["total"] == commas["total"] > 0


def test_search_needs_a_sign_in(client: TestClient) -> None:
    response = client.get("/v1/search", params={"q": "counseling"})
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"near": "123,0"}, "near"),
        ({"near": "north"}, "near"),
        ({"radius_km": "-1", "near": TAMPA}, "radius_km"),
        ({"per_page": "10000"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"need": "no-such-need"}, "need"),
        ({"need": "x' OR '1'='1"}, "need.0"),
        ({"language": "en'; DROP TABLE service; --"}, "language"),
        ({"accessibility": "wheelchair OR 1=1"}, "accessibility"),
        ({"cost": 'free" OR "1'}, "cost.0"),
        ({"q": "x" * 10_000}, "q"),
        ({"q": "nul\x00byte"}, "q"),
        ({"postcode": "00000"}, "postcode"),
        ({"postcode": "ABCDE"}, "postcode"),
        ({"mode": "teleport"}, "mode"),
        ({"sort": "price"}, "sort"),
        ({"age": "-3"}, "age"),
        ({"open_now": "maybe"}, "open_now"),
        ({"radius": "5"}, "radius"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: TestClient, mentor: dict[str, str], params: dict[str, str], field: str
) -> None:
    response = client.get("/v1/search", params=params, headers=mentor)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] in ("ValidationError", "InvalidInput") and body["field"] == field
    assert "SELECT" not in body["detail"] and "Traceback" not in response.text


@pytest.mark.parametrize(
    "q", ['"', "' OR 1=1 --", "AND", "anxiety OR depression", "x) & (y", "<script>", "%_*"]
)
def test_query_syntax_is_just_text(client: TestClient, mentor: dict[str, str], q: str) -> None:
    response = client.post("/v1/search", json={"q": q, "near": [27.9506, -82.4572]}, headers=mentor)
    assert response.status_code == 200, response.text


def test_crisis_lines_are_public_and_follow_the_place(client: TestClient) -> None:
    us = client.get("/v1/crisis-lines", params={"postcode": "33602", "language": "es"})
    assert us.status_code == 200, us.text
    lines = us.json()["lines"]
    assert lines[0]["name"] == "988 Suicide & Crisis Lifeline"
    assert lines[0]["phones"][0]["tel_uri"] == "tel:988"
    assert all("es" in line["languages"] for line in lines)
    canada = client.get("/v1/crisis-lines", params={"country": "ca"}).json()
    assert canada["country"] == "CA" and all("CA" in line["serves"] for line in canada["lines"])
    bad = client.get("/v1/crisis-lines", params={"near": "95,0"})
    assert bad.status_code == 422 and bad.json()["field"] == "near"


def test_a_risk_query_brings_the_crisis_block(client: TestClient, mentor: dict[str, str]) -> None:
    body = search(client, mentor, q="no quiero vivir", postcode="33602", language="es")
    assert body["crisis"]["reason"] == "query"
    assert body["crisis"]["lines"][0]["name"] == "988 Suicide & Crisis Lifeline"


def test_a_new_listing_is_searchable_once_synced_and_gone_once_archived(
    client: TestClient, session: Session, coordinator: dict[str, str], mentor: dict[str, str]
) -> None:
    created = create(client, coordinator, name="Quokka Peer Warmline")
    assert search(client, mentor, q="quokka")["total"] == 0  # the outbox is not drained yet
    assert sync_batch(session) >= 1
    session.commit()
    found = search(client, mentor, q="quokka", near=TAMPA)
    assert [i["match"] for i in found["items"]] == ["near"]  # its one site
    archived = client.post(
        f"/v1/services/{created['id']}/archive",
        headers={**coordinator, "If-Match": str(created["version"])},
    )
    assert archived.status_code == 200, archived.text
    sync_batch(session)
    session.commit()
    assert search(client, mentor, q="quokka")["total"] == 0
