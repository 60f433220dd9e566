"""The audit log as a coordinator reads it: who by email, filters, paging, CSV."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.referrals.conftest import body


def test_the_audit_log_names_people_and_filters(
    client: TestClient,
    session: Session,
    mentor_a: dict[str, str],
    coordinator_a: dict[str, str],
    service_id: str,
) -> None:
    for code in ("AB-1001", "AB-1002", "AB-1003"):
        made = client.post(
            "/v1/referrals", json=body(service_id, mentee_ref=code), headers=mentor_a
        )
        assert made.status_code == 201, made.text
    rows = client.get("/v1/audit", headers=coordinator_a).json()
    created = [r for r in rows if r["action"] == "referral.create"]
    mentor_email = created[0]["actor"]
    assert mentor_email.startswith("mentor-") and mentor_email.endswith("@example.org")
    assert len(created) == 3 and {r["actor"] for r in created} == {mentor_email}

    by_action = client.get("/v1/audit", params={"action": "referral.create"},
                           headers=coordinator_a).json()  # fmt: skip
    assert [r["action"] for r in by_action] == ["referral.create"] * 3
    prefix = client.get("/v1/audit", params={"action": "referral."}, headers=coordinator_a).json()
    assert len(prefix) >= 3 and all(r["action"].startswith("referral.") for r in prefix)
    by_actor = client.get("/v1/audit", params={"actor": mentor_email.upper()},
                          headers=coordinator_a).json()  # fmt: skip
    assert {r["actor"] for r in by_actor} == {mentor_email}
    future = client.get("/v1/audit", params={"since": "2999-01-01T00:00:00"},
                        headers=coordinator_a).json()  # fmt: skip
    assert future == []

    first = client.get("/v1/audit", params={"action": "referral.create", "per_page": 2},
                       headers=coordinator_a).json()  # fmt: skip
    second = client.get("/v1/audit", params={"action": "referral.create", "per_page": 2,
                                              "page": 2}, headers=coordinator_a).json()  # fmt: skip
    assert len(first) == 2 and len(second) == 1 and first[0]["at"] >= second[0]["at"]

    sheet = client.get("/v1/audit", params={"format": "csv", "action": "referral.create"},
                       headers=coordinator_a)  # fmt: skip
    assert sheet.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(sheet.text)))
    assert len(table) == 3 and table[0]["actor"] == mentor_email
    assert list(table[0]) == ["at", "actor", "actor_id", "action", "referral_id", "detail"]
    assert client.get("/v1/audit", params={"action": "DROP TABLE"},
                      headers=coordinator_a).status_code == 422  # fmt: skip
    assert client.get("/v1/audit", headers=mentor_a).status_code == 403
