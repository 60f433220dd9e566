"""The HSDS 3.0 API under /hsds/: every endpoint and parameter, published listings only, the
Page shape and its edges, NDJSON, and every document valid against the spec's own schemas."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from directory.listings.models import Attribute, Service, ServiceAtLocation, TaxonomyTerm
from tests.hsds.schemas import validate_document

PAGE_KEYS = [
    "total_items",
    "total_pages",
    "page_number",
    "size",
    "first_page",
    "last_page",
    "empty",
    "contents",
]


def get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(f"/hsds{path}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def published_count(session: Session) -> int:
    query = select(func.count()).where(Service.curation_status == "published")
    return session.scalar(query) or 0


def test_about_and_the_served_openapi(client: TestClient, hsds_spec: Path) -> None:
    about = get(client, "/")
    assert about["version"] == "3.0"
    assert about["profile"].startswith("https://")
    assert about["openapi_url"].endswith("/hsds/openapi.json")
    served = get(client, "/openapi.json")
    spec = json.loads((hsds_spec / "schema" / "openapi.json").read_text())
    assert list(served["paths"]) == list(spec["paths"])
    assert served["info"]["license"] == {"name": "Apache-2.0", "identifier": "Apache-2.0"}
    assert "REQUIRED" not in json.dumps(served["info"])
    assert served["servers"][0]["url"].endswith("/hsds")
    assert "security" not in served  # open: no sign-in


def test_services_page_shape_and_documents(
    client: TestClient, session: Session, hsds_spec: Path
) -> None:
    total = published_count(session)
    first = get(client, "/services", per_page=2)
    assert list(first) == PAGE_KEYS
    assert first["total_items"] == total > 2
    assert (first["page_number"], first["size"], first["first_page"]) == (1, 2, True)
    assert first["total_pages"] == -(-total // 2) and not first["last_page"]
    for doc in first["contents"]:
        validate_document(hsds_spec, "service", doc)
        assert set(doc["organization"]) >= {"id", "name", "description"}
        assert "phones" not in doc  # the list shape: one-to-one fields only
    last = get(client, "/services", per_page=2, page=first["total_pages"])
    assert last["last_page"] and not last["first_page"] and 1 <= last["size"] <= 2
    beyond = get(client, "/services", per_page=2, page=first["total_pages"] + 1)
    assert beyond["empty"] and beyond["contents"] == [] and beyond["total_items"] == total
    every = get(client, "/services", per_page=100)["contents"]
    assert len({doc["id"] for doc in every}) == total
    full = get(client, "/services", per_page=5, full="true")["contents"]
    for doc in full:
        validate_document(hsds_spec, "service", doc)
        assert {"phones", "service_at_locations", "attributes", "organization"} <= set(doc)
    minimal = get(client, "/services", per_page=5, minimal="true")["contents"]
    assert [set(doc) for doc in minimal] == [{"id", "last_modified"}] * 5
    one = get(client, f"/services/{full[0]['id']}")
    assert one == full[0]


def test_bad_parameters_are_422_in_our_shape(client: TestClient) -> None:
    bad: list[tuple[str, dict[str, Any]]] = [
        ("/services", {"per_page": 101}),
        ("/services", {"per_page": 0}),
        ("/services", {"page": 0}),
        ("/services", {"page": "two"}),
        ("/services", {"format": "xml"}),
        ("/services", {"modified_after": "yesterday"}),
        ("/services", {"taxonomy_term_id": "not-a-uuid"}),
        ("/services", {"full": "maybe"}),
        ("/services/not-a-uuid", {}),
        ("/service_at_locations", {"postcode": "00000"}),
        ("/service_at_locations", {"proximity": 1000}),
        ("/service_at_locations", {"postcode": "33602", "proximity": -1}),
        ("/taxonomy_terms", {"top_only": "perhaps"}),
    ]
    for path, params in bad:
        response = client.get(f"/hsds{path}", params=params)
        assert response.status_code == 422, (path, params, response.text)
        assert response.json()["error"] in ("ValidationError", "InvalidInput")
    missing = client.get(f"/hsds/services/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"


def test_a_draft_or_archived_listing_never_leaves(client: TestClient, session: Session) -> None:
    doc = get(client, "/services", per_page=1, full="true")["contents"][0]
    sid, organization = doc["id"], doc["organization"]["id"]
    at = [sal["id"] for sal in doc["service_at_locations"]]
    terms = [a["taxonomy_term"]["id"] for a in doc["attributes"]]
    for status in ("draft", "archived"):
        session.execute(update(Service).where(Service.id == sid).values(curation_status=status))
        session.commit()
        assert client.get(f"/hsds/services/{sid}").status_code == 404
        for sal in at:
            assert client.get(f"/hsds/service_at_locations/{sal}").status_code == 404
        ids = [d["id"] for d in get(client, "/services", per_page=100)["contents"]]
        assert sid not in ids
        by_org = get(client, "/services", organization_id=organization)["contents"]
        assert sid not in [d["id"] for d in by_org]
        for term in terms:
            found = get(client, "/services", taxonomy_term_id=term, per_page=100)["contents"]
            assert sid not in [d["id"] for d in found]
        sals = get(client, "/service_at_locations", per_page=100)["contents"]
        assert not set(at) & {d["id"] for d in sals}
        lines = client.get("/hsds/services", params={"format": "ndjson"}).text.splitlines()
        assert sid not in {json.loads(line)["id"] for line in lines}


def test_service_filters(client: TestClient, session: Session) -> None:
    term_id, service_id = session.execute(
        select(Attribute.taxonomy_term_id, Attribute.link_id)
        .join(Service, Service.id == Attribute.link_id)
        .where(Service.curation_status == "published")
        .limit(1)
    ).one()
    by_term = get(client, "/services", taxonomy_term_id=str(term_id), per_page=100)
    assert str(service_id) in [d["id"] for d in by_term["contents"]]
    expected = session.scalar(
        select(func.count(func.distinct(Attribute.link_id)))
        .join(Service, Service.id == Attribute.link_id)
        .where(Attribute.taxonomy_term_id == term_id, Service.curation_status == "published")
    )
    assert by_term["total_items"] == expected
    taxonomy = session.scalar(select(TaxonomyTerm.taxonomy_id).where(TaxonomyTerm.id == term_id))
    by_taxonomy = get(client, "/services", taxonomy_id=str(taxonomy))
    assert by_taxonomy["total_items"] >= by_term["total_items"]
    one = get(client, f"/services/{service_id}")
    by_org = get(client, "/services", organization_id=one["organization"]["id"], per_page=100)
    assert one["id"] in [d["id"] for d in by_org["contents"]]
    assert all(d["organization"]["id"] == one["organization"]["id"] for d in by_org["contents"])
    word = one["name"].split()[0]
    searched = get(client, "/services", search=one["name"], per_page=100)
    assert one["id"] in [d["id"] for d in searched["contents"]], word
    assert get(client, "/services", search="zzqqxx")["total_items"] == 0


def test_modified_after(client: TestClient, session: Session) -> None:
    total = published_count(session)
    past = "2000-01-01T00:00:00Z"
    assert get(client, "/services", modified_after=past)["total_items"] == total
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat()
    assert get(client, "/services", modified_after=later)["total_items"] == 0
    doc = get(client, "/services", per_page=1, minimal="true")["contents"][0]
    stamp = dt.datetime.fromisoformat(doc["last_modified"])
    found = get(client, "/services", modified_after=doc["last_modified"], per_page=100, minimal=1)
    assert doc["id"] in [d["id"] for d in found["contents"]]
    assert all(dt.datetime.fromisoformat(d["last_modified"]) >= stamp for d in found["contents"])


def test_service_at_locations(client: TestClient, session: Session, hsds_spec: Path) -> None:
    page = get(client, "/service_at_locations", per_page=10)
    count = select(func.count()).select_from(ServiceAtLocation).join(Service)
    assert page["total_items"] == session.scalar(
        count.where(Service.curation_status == "published")
    )
    for doc in page["contents"]:
        validate_document(hsds_spec, "service_at_location", doc)
        assert {"location", "service"} <= set(doc) and "phones" not in doc["location"]
    full = get(client, "/service_at_locations", per_page=5, full="true")["contents"]
    for doc in full:
        validate_document(hsds_spec, "service_at_location", doc)
        assert "addresses" in doc["location"] and "organization" in doc["service"]
    assert get(client, f"/service_at_locations/{full[0]['id']}") == full[0]


def test_postcode_and_proximity(client: TestClient, session: Session) -> None:
    """The seed's demo listings are in Tampa (33602): sites within a few km of its centre; the
    crisis lines serve the whole US (their service areas), not its sites."""
    near = get(client, "/service_at_locations", postcode="33602", proximity=20_000, per_page=100)
    assert near["total_items"] > 0
    points = [d["location"] for d in near["contents"] if "latitude" in d["location"]]
    assert points  # a ZIP centre's point is not published: the others are near Tampa
    for location in points:
        assert abs(location["latitude"] - 27.95) < 0.5 and abs(location["longitude"] + 82.46) < 0.5
    tiny = get(client, "/service_at_locations", postcode="33602", proximity=1)
    assert tiny["total_items"] < near["total_items"]
    far = get(client, "/service_at_locations", postcode="99501", proximity=20_000)  # Anchorage
    assert far["total_items"] == 0
    served = get(client, "/service_at_locations", postcode="33602", per_page=100)
    everywhere = get(client, "/service_at_locations", per_page=100)
    assert 0 < served["total_items"] <= everywhere["total_items"]


def test_organizations(client: TestClient, hsds_spec: Path) -> None:
    page = get(client, "/organizations", per_page=5)
    assert page["total_items"] > 0
    for doc in page["contents"]:
        validate_document(hsds_spec, "organization", doc)
        assert "services" not in doc and "locations" not in doc
    full = get(client, "/organizations", per_page=5, full="true")["contents"]
    for doc in full:
        validate_document(hsds_spec, "organization", doc)
        assert doc["services"] and "phones" not in doc["services"][0]
    nested = get(client, "/organizations", per_page=5, full_service="true")["contents"]
    for doc in nested:
        validate_document(hsds_spec, "organization", doc)
        assert "service_at_locations" in doc["services"][0]
    one = get(client, f"/organizations/{full[0]['id']}")
    assert one == full[0]
    with_services = get(client, f"/organizations/{full[0]['id']}", full_service="true")
    assert with_services == nested[0] or with_services["id"] == nested[0]["id"]
    name = full[0]["services"][0]["name"]
    found = get(client, "/organizations", search=name, per_page=100)["contents"]
    assert full[0]["id"] in [d["id"] for d in found]


def test_taxonomies_and_terms(client: TestClient, hsds_spec: Path) -> None:
    taxonomies = get(client, "/taxonomies")
    assert taxonomies["total_items"] >= 1
    for doc in taxonomies["contents"]:
        validate_document(hsds_spec, "taxonomy", doc)
        assert get(client, f"/taxonomies/{doc['id']}") == doc
    terms = get(client, "/taxonomy_terms", per_page=100)
    for doc in terms["contents"]:
        validate_document(hsds_spec, "taxonomy_term", doc)
        assert doc["taxonomy_detail"]["id"] == doc["taxonomy_id"]
    top = get(client, "/taxonomy_terms", top_only="true", per_page=100)["contents"]
    assert top and all("parent_id" not in doc for doc in top)
    parent = next(d["parent_id"] for d in terms["contents"] if "parent_id" in d)
    children = get(client, "/taxonomy_terms", parent_id=parent, per_page=100)["contents"]
    assert children and all(d["parent_id"] == parent for d in children)
    one = terms["contents"][0]
    assert get(client, f"/taxonomy_terms/{one['id']}") == one
    by_taxonomy = get(client, "/taxonomy_terms", taxonomy_id=one["taxonomy_id"])
    assert by_taxonomy["total_items"] >= 1
    named = get(client, "/taxonomy_terms", search=one["name"][:5].lower())["contents"]
    assert one["id"] in [d["id"] for d in named] or len(named) == 50
    assert client.get(f"/hsds/taxonomy_terms/{uuid.uuid4()}").status_code == 404


def test_ndjson_streams_every_result(client: TestClient, session: Session) -> None:
    for path, params in [
        ("/services", {}),
        ("/services", {"full": "true"}),
        ("/service_at_locations", {}),
        ("/organizations", {}),
        ("/taxonomies", {}),
        ("/taxonomy_terms", {}),
    ]:
        paged = get(client, path, per_page=100, **params)
        response = client.get(f"/hsds{path}", params={"format": "ndjson", **params})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        docs = [json.loads(line) for line in response.text.splitlines()]
        assert len(docs) == paged["total_items"], path
        if paged["total_items"] <= 100:
            assert docs == paged["contents"], path


def test_etag_and_cache_control(client: TestClient) -> None:
    first = client.get("/hsds/services", params={"per_page": 3})
    assert first.headers["cache-control"].startswith("public")
    again = client.get(
        "/hsds/services", params={"per_page": 3}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


def test_real_data_documents_validate(
    real_listings: Session, client: TestClient, hsds_spec: Path
) -> None:
    """The spec's own example and Vermont's SAMHSA sites, through every shape."""
    found = get(client, "/services", search="Community Counselling", full="true")["contents"]
    assert "Community Counselling" in [d["name"] for d in found]  # the spec's example
    checked = 0
    for kind, path in [
        ("service", "/services"),
        ("service_at_location", "/service_at_locations"),
        ("organization", "/organizations"),
    ]:
        lines = client.get(f"/hsds{path}", params={"format": "ndjson", "full": "true"}).text
        for line in lines.splitlines():
            validate_document(hsds_spec, kind, json.loads(line))
            checked += 1
    assert checked > 100
    vermont = get(client, "/service_at_locations", postcode="05401", proximity=30_000, per_page=100)
    assert vermont["total_items"] > 5
