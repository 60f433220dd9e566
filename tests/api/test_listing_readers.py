"""What a listing's readers who are not staff (mentors, partner keys) get: no staff email,
and a clear refusal when they ask for what only coordinators see."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.api.test_partner_keys import new_key
from tests.api.test_services import create


def test_who_verified_is_shown_to_staff_only(
    client: TestClient, session: Session, coordinator: dict[str, str], mentor: dict[str, str]
) -> None:
    body = create(client, coordinator, needs=["grief"])
    url = f"/v1/services/{body['id']}"
    verified = client.post(f"{url}/verify", headers={**coordinator, "If-Match": '"1"'}).json()
    assert verified["verification"]["verified_by"].startswith("coordinator-")
    staff = client.get(url, headers=coordinator).json()
    assert staff["verification"]["verified_by"].startswith("coordinator-")
    key = {"X-Api-Key": new_key(session)}
    for headers in (mentor, key):
        seen = client.get(url, headers=headers)
        assert seen.status_code == 200, seen.text
        assert seen.json()["verification"]["verified_by"] is None
        assert seen.json()["verification"]["last_verified_at"] is not None
        assert "coordinator-" not in seen.text
    listed = client.get("/v1/services?need=grief&per_page=100", headers=mentor)
    assert "coordinator-" not in listed.text and body["id"] in listed.text
    listed = client.get("/v1/services?need=grief&per_page=100", headers=coordinator)
    assert "coordinator-" in listed.text


@pytest.mark.parametrize("state", ["draft", "archived"])
def test_a_mentor_asking_for_unpublished_listings_is_refused(
    client: TestClient, coordinator: dict[str, str], mentor: dict[str, str], state: str
) -> None:
    create(client, coordinator, curation_status=state)
    response = client.get(f"/v1/services?curation_status={state}", headers=mentor)
    assert response.status_code == 403, response.text
    assert response.json()["field"] == "curation_status"
    assert "only coordinators" in response.json()["detail"]
    published = client.get("/v1/services?curation_status=published", headers=mentor)
    assert published.status_code == 200
    staff = client.get(f"/v1/services?curation_status={state}", headers=coordinator)
    assert staff.status_code == 200 and staff.json()["total"] >= 1
