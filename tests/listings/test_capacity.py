"""A listing's capacity (HSDS 3.1 service_capacity): written on create and PATCH, refused when it
is not one of the four statuses, and read back with how the listing was last verified."""

from __future__ import annotations

import hashlib
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from directory.listings.models import CAPACITY_STATUSES
from directory.listings.queries import read_service
from directory.listings.read_schemas import ServiceRead
from directory.listings.schemas import CapacityStatus, ServiceCreate, ServiceUpdate
from directory.listings.service import content_hash, update_service, upsert_listing


def document(**fields: Any) -> dict[str, Any]:
    return {"name": "Harbor Peer Warmline", "organization": {"name": "Harbor Peer"}, **fields}


def test_the_schema_allows_what_the_database_allows() -> None:
    assert get_args(CapacityStatus) == CAPACITY_STATUSES


def test_capacity_is_written_on_create_and_on_patch(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    created = client.post(
        "/v1/services", json=document(capacity_status="waitlist"), headers=coordinator
    )
    assert created.status_code == 201, created.text
    body = created.json()
    ServiceRead.model_validate(body)
    assert body["capacity_status"] == "waitlist"
    assert body["capacity_updated_at"] is not None  # as of when it was said
    assert (body["verification_method"], body["verification_note"]) == (None, None)
    url = f"/v1/services/{body['id']}"
    patched = client.patch(
        url, json={"capacity_status": "accepting"}, headers={**coordinator, "If-Match": "1"}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["capacity_status"] == "accepting"
    assert client.get(url, headers=coordinator).json()["capacity_status"] == "accepting"


def test_a_listing_without_capacity_reads_null(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    body = client.post("/v1/services", json=document(), headers=coordinator).json()
    assert (body["capacity_status"], body["capacity_updated_at"]) == (None, None)


@pytest.mark.parametrize("value", ["open", "Accepting", "", 1])
def test_another_capacity_is_a_422_and_changes_nothing(
    client: TestClient, coordinator: dict[str, str], value: object
) -> None:
    refused = client.post("/v1/services", json=document(capacity_status=value), headers=coordinator)
    assert refused.status_code == 422, refused.text
    assert "capacity_status" in refused.text
    body = client.post("/v1/services", json=document(capacity_status="full"), headers=coordinator)
    url = f"/v1/services/{body.json()['id']}"
    patch = client.patch(
        url, json={"capacity_status": value}, headers={**coordinator, "If-Match": "1"}
    )
    assert patch.status_code == 422, patch.text
    after = client.get(url, headers=coordinator).json()
    assert (after["capacity_status"], after["version"]) == ("full", 1)


def test_a_reimport_keeps_what_a_coordinator_recorded(session: Session) -> None:
    def doc(description: str) -> ServiceCreate:
        return ServiceCreate.model_validate(
            document(description=description)
            | {"provenance": {"source": "test:capacity", "external_id": "1"}}
        )

    _, service_id = upsert_listing(session, doc("first"))
    update_service(
        session, service_id, ServiceUpdate(capacity_status="full"), expected_version=None
    )
    assert upsert_listing(session, doc("changed"))[0] == "updated"
    session.expire_all()
    listing = read_service(session, service_id, published_only=False)
    assert (listing.description, listing.capacity_status) == ("changed", "full")
    assert listing.capacity_updated_at is not None


def test_an_empty_capacity_leaves_the_digest_as_it_was() -> None:
    plain = ServiceCreate.model_validate(document())
    before = hashlib.sha256(
        plain.model_dump_json(exclude={"inferred_needs", "capacity_status"}).encode()
    ).hexdigest()
    assert content_hash(plain) == before  # files imported before capacity stay unchanged
    assert content_hash(plain.model_copy(update={"capacity_status": "full"})) != before


def test_a_file_that_states_capacity_sets_it_on_a_reimport(session: Session) -> None:
    def doc(capacity: str | None) -> ServiceCreate:
        fields = {"capacity_status": capacity} if capacity else {}
        return ServiceCreate.model_validate(
            document(**fields) | {"provenance": {"source": "test:capacity", "external_id": "2"}}
        )

    _, service_id = upsert_listing(session, doc(None))
    assert upsert_listing(session, doc("waitlist"))[0] == "updated"  # seed files say it
    session.expire_all()
    stated = read_service(session, service_id, published_only=False)
    assert stated.capacity_status == "waitlist" and stated.capacity_updated_at is not None
    assert upsert_listing(session, doc(None))[0] == "updated"  # silent: what is known stays
    session.expire_all()
    kept = read_service(session, service_id, published_only=False)
    assert (kept.capacity_status, kept.capacity_updated_at) == (
        "waitlist",
        stated.capacity_updated_at,
    )
