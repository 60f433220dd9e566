"""The caller's program, and its mentee code pattern set by a coordinator through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import bearer
from tests.referrals.conftest import body

URL = "/v1/program/mentee-code-pattern"


def test_a_coordinator_sets_the_code_pattern_mentors_follow(
    client: TestClient,
    session: Session,
    mentor_a: dict[str, str],
    coordinator_a: dict[str, str],
    coordinator_x: dict[str, str],
    service_id: str,
) -> None:
    mine = client.get("/v1/program", headers=mentor_a)
    assert mine.status_code == 200, mine.text
    assert mine.json()["name"] == "Harbor Peers" and mine.json()["mentee_ref_pattern"] is None
    assert client.put(URL, json={"pattern": "HP-[0-9]{4}"}, headers=mentor_a).status_code == 403

    set_ = client.put(URL, json={"pattern": " HP-[0-9]{4} "}, headers=coordinator_a)
    assert set_.status_code == 200, set_.text
    assert set_.json()["mentee_ref_pattern"] == "HP-[0-9]{4}"
    refused = client.post(
        "/v1/referrals", json=body(service_id, mentee_ref="Jo_Li1"), headers=mentor_a
    )
    assert refused.status_code == 422 and "HP-[0-9]{4}" in refused.json()["detail"]
    assert client.get("/v1/program", headers=coordinator_x).json()["mentee_ref_pattern"] is None

    broken = client.put(URL, json={"pattern": "HP-[0-9])|(.*"}, headers=coordinator_a)
    assert broken.status_code == 422 and broken.json()["field"] == "pattern", broken.text
    too_long = client.put(URL, json={"pattern": "A" * 201}, headers=coordinator_a)
    assert too_long.status_code == 422
    audit = client.get("/v1/audit", headers=coordinator_a).json()
    assert [row["action"] for row in audit].count("program.code-pattern") == 1

    cleared = client.put(URL, json={"pattern": None}, headers=coordinator_a)
    assert cleared.status_code == 200 and cleared.json()["mentee_ref_pattern"] is None
    made = client.post(
        "/v1/referrals", json=body(service_id, mentee_ref="Jo_Li1"), headers=mentor_a
    )
    assert made.status_code == 201, made.text


def test_no_program_is_a_404_and_no_token_a_401(client: TestClient, session: Session) -> None:
    loner = bearer(session, "coordinator")  # a user in no program
    assert client.get("/v1/program", headers=loner).status_code == 404
    assert client.put(URL, json={"pattern": "X[0-9]"}, headers=loner).status_code == 404
    assert client.get("/v1/program").status_code == 401
