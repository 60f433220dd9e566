"""The listings API, end to end against the migrated, seeded test database."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from directory.listings.read_schemas import ServiceRead


def listing(**overrides: Any) -> dict[str, Any]:
    """A whole listing document, as a coordinator would send it."""
    doc: dict[str, Any] = {
        "name": "Harbor Peer Warmline",
        "description": "Peer-run warmline and drop-in support groups.",
        "url": "https://example.org/harbor",
        "organization": {"name": "Harbor Peer Collective", "url": "https://example.org"},
        "needs": ["peer-support", "anxiety"],
        "languages": [{"code": "en"}, {"code": "spa"}, {"code": "ase", "note": "Via VRS"}],
        "phones": [{"number": "(813) 555-0177", "country": "US", "type": "voice"}],
        "schedules": [
            {
                "freq": "WEEKLY",
                "byday": "MO,TU,WE,TH,FR",
                "opens_at": "09:00",
                "closes_at": "17:00",
                "timezone": "America/New_York",
                "description": "Mon-Fri 9am-5pm",
            }
        ],
        "locations": [
            {
                "name": "Drop-in center",
                "latitude": 27.9506,
                "longitude": -82.4572,
                "address": {
                    "address_1": "100 Example St",
                    "city": "Tampa",
                    "state_province": "FL",
                    "postal_code": "33602",
                    "country": "US",
                },
                "accessibility": [{"code": "wheelchair", "details": "Ramp at the side door"}],
                "phones": [{"number": "813-555-0178", "country": "US"}],
            }
        ],
        "service_areas": [{"name": "Hillsborough County", "regions": ["US-FL"]}],
        "cost_options": [{"option": "free"}],
    }
    doc.update(overrides)
    return doc


def create(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post("/v1/services", json=listing(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_returns_the_whole_nested_listing(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    body = create(client, coordinator)
    ServiceRead.model_validate(body)
    assert body["name"] == "Harbor Peer Warmline"
    assert body["organization"]["name"] == "Harbor Peer Collective"
    assert [n["code"] for n in body["needs"]] == ["anxiety", "peer-support"]
    assert [(lang["code"], lang["name"]) for lang in body["languages"]] == [
        ("en", "English"),
        ("es", "Spanish"),
        ("ase", "American Sign Language"),
    ]
    assert body["phones"][0] | {"id": None} == {
        "id": None,
        "number": "(813) 555-0177",
        "display": "(813) 555-0177",
        "tel_uri": "tel:+18135550177",
        "e164": "+18135550177",
        "country": "US",
        "extension": None,
        "type": "voice",
        "description": None,
    }
    location = body["locations"][0]
    assert (location["latitude"], location["longitude"]) == (27.9506, -82.4572)
    assert location["addresses"][0]["postal_code"] == "33602"
    assert location["accessibility"] == [
        {"code": "wheelchair", "details": "Ramp at the side door", "url": None}
    ]
    assert location["phones"][0]["tel_uri"] == "tel:+18135550178"
    assert body["schedules"][0]["opens_at"] == "09:00:00"
    assert body["schedules"][0]["timezone"] == "America/New_York"
    assert body["service_areas"] == [
        {"name": "Hillsborough County", "description": None, "regions": ["US-FL"]}
    ]
    assert body["version"] == 1
    assert body["curation_status"] == "published"

    again = client.get(f"/v1/services/{body['id']}", headers=coordinator)
    assert again.status_code == 200
    assert again.json() == body
    assert again.headers["ETag"] == '"1"'


def test_the_point_is_stored_as_geography(
    client: TestClient, coordinator: dict[str, str], session: Any
) -> None:
    from sqlalchemy import text

    body = create(client, coordinator)
    location_id = body["locations"][0]["id"]
    found = session.execute(
        text(
            "SELECT ST_Y(point::geometry), ST_X(point::geometry), ST_SRID(point::geometry) "
            "FROM location WHERE id = :id"
        ),
        {"id": location_id},
    ).one()
    assert tuple(found) == (pytest.approx(27.9506), pytest.approx(-82.4572), 4326)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["locations"][0].update(latitude=123), "locations.0.latitude"),
        (lambda d: d.update(needs=["unicorn-therapy"]), "needs"),
        (lambda d: d["phones"][0].update(number="12"), "phones.0"),
        (lambda d: d.pop("name"), "name"),
        (lambda d: d["languages"].append({"code": "zz"}), "languages.3.code"),
        (
            lambda d: d["locations"][0]["accessibility"].append({"code": "jetpack"}),
            "locations.0.accessibility.1.code",
        ),
        (lambda d: d["schedules"][0].update(timezone="Mars/Olympus"), "schedules.0.timezone"),
        (lambda d: d["service_areas"][0].update(regions=["US-ZZ"]), "service_areas.0.regions.0"),
        (lambda d: d["locations"][0].pop("longitude"), "locations.0"),
        (lambda d: d.update(status="closed-forever"), "status"),
        (lambda d: d.update(name="a\u0000b"), "name"),
        (lambda d: d["organization"].update(name="Nul\u0000Org"), "organization.name"),
        (lambda d: d["cost_options"][0].update(amount="1e20"), "cost_options.0.amount"),
        (lambda d: d["schedules"][0].update(count=10**12), "schedules.0.count"),
        (
            lambda d: d.update(organization={"id": "00000000-0000-0000-0000-000000000001"}),
            "organization.id",
        ),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(
    client: TestClient, coordinator: dict[str, str], change: Any, field: str
) -> None:
    before = client.get("/v1/services?per_page=1", headers=coordinator).json()["total"]
    doc = copy.deepcopy(listing())
    change(doc)
    response = client.post("/v1/services", json=doc, headers=coordinator)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] in ("ValidationError", "InvalidInput")
    assert body["field"] == field
    assert client.get("/v1/services?per_page=1", headers=coordinator).json()["total"] == before


def test_no_token_is_401_and_a_bad_one_too(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/v1/services", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_mentor_reads_but_cannot_write(
    client: TestClient, coordinator: dict[str, str], mentor: dict[str, str]
) -> None:
    body = create(client, coordinator)
    assert client.get(f"/v1/services/{body['id']}", headers=mentor).status_code == 200
    response = client.post("/v1/services", json=listing(), headers=mentor)
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"
    for path in ("verify", "archive"):
        assert client.post(f"/v1/services/{body['id']}/{path}", headers=mentor).status_code == 403
    patch = client.patch(
        f"/v1/services/{body['id']}", json={"name": "x"}, headers={**mentor, "If-Match": "1"}
    )
    assert patch.status_code == 403


def test_patch_needs_the_current_version(client: TestClient, coordinator: dict[str, str]) -> None:
    body = create(client, coordinator)
    url = f"/v1/services/{body['id']}"
    missing = client.patch(url, json={"name": "Renamed"}, headers=coordinator)
    assert missing.status_code == 428
    ok = client.patch(
        url,
        json={"name": "Renamed", "needs": ["crisis"]},
        headers={**coordinator, "If-Match": '"1"'},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["name"] == "Renamed"
    assert ok.json()["version"] == 2
    assert ok.headers["ETag"] == '"2"'
    assert [n["code"] for n in ok.json()["needs"]] == ["crisis"]
    assert ok.json()["phones"] == body["phones"]  # lists left out stay

    stale = client.patch(
        url, json={"name": "Lost update"}, headers={**coordinator, "If-Match": "1"}
    )
    assert stale.status_code == 412
    assert stale.json()["error"] == "PreconditionFailed"
    assert client.get(url, headers=coordinator).json()["name"] == "Renamed"


def test_patch_replaces_locations(client: TestClient, coordinator: dict[str, str]) -> None:
    body = create(client, coordinator)
    new = [
        {"name": "Second site", "latitude": 27.77, "longitude": -82.64},
        {"name": "Telehealth", "location_type": "virtual"},
    ]
    response = client.patch(
        f"/v1/services/{body['id']}",
        json={"locations": new},
        headers={**coordinator, "If-Match": "1"},
    )
    assert response.status_code == 200, response.text
    assert [loc["name"] for loc in response.json()["locations"]] == ["Second site", "Telehealth"]
    assert response.json()["locations"][1]["latitude"] is None


def test_bad_patch_changes_nothing(client: TestClient, coordinator: dict[str, str]) -> None:
    body = create(client, coordinator)
    url = f"/v1/services/{body['id']}"
    response = client.patch(
        url, json={"name": "New", "needs": ["nope"]}, headers={**coordinator, "If-Match": "1"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "needs"
    after = client.get(url, headers=coordinator).json()
    assert (after["name"], after["version"]) == (body["name"], 1)


def test_verify_and_archive(
    client: TestClient, coordinator: dict[str, str], mentor: dict[str, str]
) -> None:
    body = create(client, coordinator)
    url = f"/v1/services/{body['id']}"
    assert client.post(f"{url}/verify", headers=coordinator).status_code == 428
    verified = client.post(f"{url}/verify", headers={**coordinator, "If-Match": '"1"'}).json()
    assert verified["verification"]["verified_by"].startswith("coordinator-")
    assert verified["verification"]["last_verified_at"] is not None
    assert verified["version"] == 2
    stale = client.post(f"{url}/archive", headers={**coordinator, "If-Match": "1"})
    assert stale.status_code == 412
    archived = client.post(f"{url}/archive", headers={**coordinator, "If-Match": "2"}).json()
    assert archived["curation_status"] == "archived"
    assert client.get(url, headers=mentor).status_code == 404
    listed = client.get("/v1/services?per_page=100&need=peer-support", headers=mentor).json()
    assert body["id"] not in [item["id"] for item in listed["items"]]


def test_drafts_are_hidden_from_mentors(
    client: TestClient, coordinator: dict[str, str], mentor: dict[str, str]
) -> None:
    draft = create(client, coordinator, curation_status="draft", needs=["grief"])
    assert client.get(f"/v1/services/{draft['id']}", headers=coordinator).status_code == 200
    assert client.get(f"/v1/services/{draft['id']}", headers=mentor).status_code == 404
    seen = client.get("/v1/services?need=grief&per_page=100", headers=mentor).json()
    assert draft["id"] not in [i["id"] for i in seen["items"]]
    drafts = client.get("/v1/services?curation_status=draft", headers=coordinator).json()
    assert [i["id"] for i in drafts["items"]] == [draft["id"]]


@pytest.mark.parametrize(
    ("value", "status"),
    [("*", 200), ('W/"1"', 200), ("9" * 5000, 400), ("\u00b2", 400), ("abc", 400), ("2", 412)],
)
def test_if_match_forms(
    client: TestClient, coordinator: dict[str, str], value: str, status: int
) -> None:
    body = create(client, coordinator)
    response = client.patch(
        f"/v1/services/{body['id']}",
        json={"alert": "Closed on Friday"},
        headers={**coordinator, "If-Match": value.encode("latin-1")},  # type: ignore[dict-item]
    )
    assert response.status_code == status, response.text


def test_unknown_ids_are_404_in_the_error_shape(client: TestClient, mentor: dict[str, str]) -> None:
    response = client.get("/v1/services/00000000-0000-0000-0000-000000000000", headers=mentor)
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"
    assert client.get("/v1/services/not-a-uuid", headers=mentor).status_code == 422


def test_need_filter_includes_children(client: TestClient, coordinator: dict[str, str]) -> None:
    body = create(client, coordinator, needs=["anxiety"])
    ids = [
        i["id"]
        for i in client.get(
            "/v1/services?need=mental-health&per_page=100", headers=coordinator
        ).json()["items"]
    ]
    assert body["id"] in ids
    substance = client.get("/v1/services?need=substance-use&per_page=100", headers=coordinator)
    assert body["id"] not in [i["id"] for i in substance.json()["items"]]
    unknown = client.get("/v1/services?need=unicorns", headers=coordinator)
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "need"


def test_crisis_need_lists_988_with_a_dialable_number(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    page = client.get("/v1/services?need=crisis&per_page=100", headers=coordinator).json()
    lifeline = next(i for i in page["items"] if i["name"] == "988 Suicide & Crisis Lifeline")
    assert any(p["tel_uri"] == "tel:988" for p in lifeline["phones"])
    channels = {c["channel"]: c for c in lifeline["crisis_channels"]}
    assert channels["call"]["tel_uri"] == "tel:988"
    assert channels["call"]["open_24_7"] is True
    assert channels["chat"]["url"].startswith("https://988lifeline.org")
    assert lifeline["provenance"][0]["source"] == "seed:crisis-lines"
    assert lifeline["verification"]["last_verified_at"].startswith("2026-11-25")


def test_list_filters_and_paging(client: TestClient, coordinator: dict[str, str]) -> None:
    first = client.get("/v1/services?per_page=5", headers=coordinator).json()
    assert len(first["items"]) == 5
    assert first["total"] >= 40
    second = client.get("/v1/services?per_page=5&page=2", headers=coordinator).json()
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    closed = client.get("/v1/services?status=temporarily closed&per_page=100", headers=coordinator)
    assert closed.json()["items"]
    assert {i["status"] for i in closed.json()["items"]} == {"temporarily closed"}
    latest = first["items"][0]["updated_at"]
    created = create(client, coordinator)
    newer = client.get(
        "/v1/services", params={"modified_after": latest}, headers=coordinator
    ).json()
    assert created["id"] in [i["id"] for i in newer["items"]]
    assert client.get("/v1/services?per_page=10000", headers=coordinator).status_code == 422
    assert client.get("/v1/services?status=bogus", headers=coordinator).status_code == 422


def test_needs_tree(client: TestClient, mentor: dict[str, str]) -> None:
    tree = client.get("/v1/needs", headers=mentor).json()
    roots = [n["code"] for n in tree]
    assert roots[:3] == ["crisis", "mental-health", "substance-use"]
    crisis = tree[0]
    assert [c["code"] for c in crisis["children"]] == [
        "suicide-prevention",
        "mobile-crisis",
        "crisis-stabilization",
    ]
    assert all(n["name"] and n["description"] for n in tree)


def test_healthz_and_docs(client: TestClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    assert "/v1/services/{service_id}" in client.get("/openapi.json").json()["paths"]


def test_provenance_gives_a_stable_id_and_refuses_duplicates(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    provenance = {"source": "partner:harbor", "external_id": "warmline-1"}
    first = create(client, coordinator, provenance=provenance)
    assert first["provenance"][0] | {"retrieved_at": None} == {
        **provenance,
        "source_url": None,
        "retrieved_at": None,
    }
    again = client.post("/v1/services", json=listing(provenance=provenance), headers=coordinator)
    assert again.status_code == 409
    assert again.json()["error"] == "Conflict"
    assert again.json()["field"] == "provenance"


def test_services_of_one_organization_share_it(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    first = create(client, coordinator)
    organization = first["organization"]
    second = create(
        client, coordinator, name="Harbor Family Groups", organization={"id": organization["id"]}
    )
    assert second["organization"] == organization
    same_name = create(client, coordinator, organization={"name": "Harbor Peer Collective"})
    assert same_name["organization"]["id"] != organization["id"]  # never merged by name alone
    mixed = client.post(
        "/v1/services",
        headers=coordinator,
        json=listing(organization={"id": organization["id"], "name": "Renamed"}),
    )
    assert mixed.status_code == 422
    assert mixed.json()["field"] == "organization"


def test_patch_refuses_null_for_required_fields(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    body = create(client, coordinator)
    for patch in ({"name": None}, {"needs": None}, {"status": None}):
        response = client.patch(
            f"/v1/services/{body['id']}", json=patch, headers={**coordinator, "If-Match": "1"}
        )
        assert response.status_code == 422, patch
    emptied = client.patch(
        f"/v1/services/{body['id']}",
        json={"needs": [], "alert": None},
        headers={**coordinator, "If-Match": "1"},
    )
    assert emptied.status_code == 200
    assert emptied.json()["needs"] == []


def test_unreadable_json_is_a_422_on_the_body(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    response = client.post(
        "/v1/services",
        content=b"{not json",
        headers={**coordinator, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "body"
    assert response.json()["error"] == "ValidationError"
