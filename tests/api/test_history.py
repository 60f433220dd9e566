"""A listing's history over HTTP, and verifying with how and a note."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from directory.listings.history import ListingChangePage
from tests.conftest import bearer

DOC = {
    "name": "Harbor Peer Warmline",
    "organization": {"name": "Harbor Peer Collective"},
    "needs": ["peer-support"],
}


def create(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post("/v1/services", json=DOC, headers=headers)
    assert response.status_code == 201, response.text
    service_id: str = response.json()["id"]
    return service_id


def test_verify_takes_how_and_a_note(client: TestClient, coordinator: dict[str, str]) -> None:
    url = f"/v1/services/{create(client, coordinator)}"
    body = {"method": "visit", "note": "Met the intake team; groups on Tuesdays."}
    verified = client.post(f"{url}/verify", json=body, headers={**coordinator, "If-Match": "1"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["version"] == 2
    changes = client.get(f"{url}/history", headers=coordinator).json()["items"]
    found = {c["field_name"]: c for c in changes if c["last_action_type"] == "verify"}
    assert found["verification_method"]["replacement_value"] == "visit"
    assert found["verification_note"]["replacement_value"] == body["note"]
    assert found["verified_by"]["updated_by"].startswith("coordinator-")


def test_verify_without_a_body_still_works(client: TestClient, coordinator: dict[str, str]) -> None:
    url = f"/v1/services/{create(client, coordinator)}"
    verified = client.post(f"{url}/verify", headers={**coordinator, "If-Match": "1"})
    assert verified.status_code == 200, verified.text
    changes = client.get(f"{url}/history", headers=coordinator).json()["items"]
    fields = sorted(c["field_name"] for c in changes if c["last_action_type"] == "verify")
    assert fields == ["last_verified_at", "verified_by"]  # no method, no note: unchanged


@pytest.mark.parametrize(
    "body",
    [{"method": "fax"}, {"method": "import"}, {"note": "x" * 2001}, {"how": "phone"}],
)
def test_verify_refuses_an_unknown_method_or_a_long_note(
    client: TestClient, coordinator: dict[str, str], body: dict[str, Any]
) -> None:
    url = f"/v1/services/{create(client, coordinator)}"
    refused = client.post(f"{url}/verify", json=body, headers={**coordinator, "If-Match": "1"})
    assert refused.status_code == 422, refused.text
    assert client.get(url, headers=coordinator).json()["version"] == 1


def test_history_pages_newest_first_in_the_metadata_shape(
    client: TestClient, coordinator: dict[str, str]
) -> None:
    service_id = create(client, coordinator)
    url = f"/v1/services/{service_id}"
    for version, name in enumerate(("One", "Two"), start=1):
        headers = {**coordinator, "If-Match": str(version)}
        assert client.patch(url, json={"name": name}, headers=headers).status_code == 200
    first = client.get(f"{url}/history?page=1&per_page=2", headers=coordinator)
    assert first.status_code == 200, first.text
    page = ListingChangePage.model_validate(first.json())
    assert (page.page, page.per_page, page.total) == (1, 2, 3)
    item = first.json()["items"][0]
    assert set(item) == {
        "id",
        "service_id",
        "resource_id",
        "resource_type",
        "last_action_date",
        "last_action_type",
        "field_name",
        "previous_value",
        "replacement_value",
        "updated_by",
    }
    assert (item["resource_type"], item["resource_id"]) == ("service", service_id)
    assert all(i.updated_by.startswith("coordinator-") for i in page.items)  # who, by email
    assert [(i.field_name, i.previous_value, i.replacement_value) for i in page.items] == [
        ("name", "One", "Two"),
        ("name", "Harbor Peer Warmline", "One"),
    ]
    last = client.get(f"{url}/history?page=2&per_page=2", headers=coordinator).json()
    assert [(i["last_action_type"], i["field_name"]) for i in last["items"]] == [
        ("create", "listing")
    ]


def test_history_is_for_coordinators_and_admins(
    client: TestClient, session: Session, coordinator: dict[str, str], mentor: dict[str, str]
) -> None:
    url = f"/v1/services/{create(client, coordinator)}/history"
    assert client.get(url, headers=mentor).status_code == 403
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(session, "admin")).status_code == 200
    unknown = client.get(
        "/v1/services/00000000-0000-0000-0000-000000000000/history", headers=coordinator
    )
    assert unknown.status_code == 404
    assert client.get(f"{url}?per_page=101", headers=coordinator).status_code == 422


def test_edits_name_who_made_them(client: TestClient, coordinator: dict[str, str]) -> None:
    url = f"/v1/services/{create(client, coordinator)}"
    patched = client.patch(
        url, json={"description": "Evenings too."}, headers={**coordinator, "If-Match": "1"}
    )
    assert patched.status_code == 200, patched.text
    archived = client.post(f"{url}/archive", headers={**coordinator, "If-Match": "2"})
    assert archived.status_code == 200, archived.text
    changes = client.get(f"{url}/history", headers=coordinator).json()["items"]
    who = {(c["last_action_type"], c["field_name"]): c["updated_by"] for c in changes}
    assert who[("update", "description")].startswith("coordinator-")
    assert who[("archive", "curation_status")].startswith("coordinator-")
    assert any(action == "create" and by.startswith("coordinator-")
               for (action, _), by in who.items())  # fmt: skip
