"""The review queue through the API: suggestions with their diff, approval (with edits) and
rejection, problem reports decided within a program, roles, and the audit trail."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.accounts.models import AuditEntry
from directory.accounts.service import create_user
from directory.curation.models import ChangeSuggestion, ProblemReport
from directory.curation.service import report_problem
from directory.listings.schemas import ServiceCreate
from directory.listings.service import create_service


def headers(session: Session, role: str, program: str = "Harbor Peers") -> dict[str, str]:
    _, token = create_user(
        session, email=f"{role}-{uuid.uuid4().hex[:8]}@example.org", role=role, program=program
    )
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def listing(session: Session) -> uuid.UUID:
    doc = {
        "name": "Harbor Warmline",
        "description": "Talk to a peer.",
        "organization": {"name": "Harbor Peers Org"},
        "phones": [{"number": "813-555-0100"}],
    }
    service_id = create_service(session, ServiceCreate.model_validate(doc))
    session.commit()
    return service_id


def test_a_suggestion_waits_with_its_diff_and_is_approved_with_edits(
    client: TestClient, session: Session
) -> None:
    service_id = listing(session)
    mentor, coordinator = headers(session, "mentor"), headers(session, "coordinator")
    made = client.post(
        f"/v1/services/{service_id}/suggestions",
        json={"changes": {"description": "Talk to a peer, 24/7."}, "note": "They told me"},
        headers=mentor,
    )
    assert made.status_code == 201, made.text
    suggestion = made.json()
    assert (suggestion["status"], suggestion["base_version"]) == ("open", 1)

    assert client.get("/v1/review-queue", headers=mentor).status_code == 403
    [item] = [i for i in client.get("/v1/review-queue", headers=coordinator).json()
              if i["id"] == suggestion["id"]]  # fmt: skip
    assert item["kind"] == "suggestion" and item["service_name"] == "Harbor Warmline"
    assert item["changes"] == [
        {"field": "description", "current": "Talk to a peer.", "proposed": "Talk to a peer, 24/7."}
    ]
    assert item["detail"]["changed_since"] is False

    approved = client.post(
        f"/v1/suggestions/{suggestion['id']}/decision",
        json={"approve": True, "edits": {"description": "Talk to a peer, any hour."}},
        headers=coordinator,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    now = client.get(f"/v1/services/{service_id}", headers=coordinator).json()
    assert now["description"] == "Talk to a peer, any hour."
    assert now["version"] == 2
    again = client.post(
        f"/v1/suggestions/{suggestion['id']}/decision", json={"approve": False},
        headers=coordinator,
    )  # fmt: skip
    assert again.status_code == 409
    assert all(i["id"] != suggestion["id"]
               for i in client.get("/v1/review-queue", headers=coordinator).json())  # fmt: skip
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert "suggestion.approved" in actions


def test_a_rejected_suggestion_changes_nothing(client: TestClient, session: Session) -> None:
    service_id = listing(session)
    mentor, coordinator = headers(session, "mentor"), headers(session, "coordinator")
    made = client.post(
        f"/v1/services/{service_id}/suggestions",
        json={"changes": {"phones": [{"number": "813-555-0199"}]}},
        headers=mentor,
    ).json()
    assert client.post(
        f"/v1/suggestions/{made['id']}/decision", json={"approve": False, "edits": {"name": "X"}},
        headers=coordinator,
    ).status_code == 422  # fmt: skip
    rejected = client.post(
        f"/v1/suggestions/{made['id']}/decision",
        json={"approve": False, "note": "same number as before"},
        headers=coordinator,
    )
    assert rejected.json()["status"] == "rejected"
    now = client.get(f"/v1/services/{service_id}", headers=coordinator).json()
    assert [p["number"] for p in now["phones"]] == ["813-555-0100"] and now["version"] == 1
    stored = session.get(ChangeSuggestion, uuid.UUID(made["id"]))
    assert stored is not None and stored.decision_note == "same number as before"


def test_bad_suggestions_are_refused_naming_the_field(client: TestClient, session: Session) -> None:
    service_id = listing(session)
    mentor = headers(session, "mentor")
    url = f"/v1/services/{service_id}/suggestions"
    cases = {
        "changes.colour": {"changes": {"colour": "blue"}},
        "changes.curation_status": {"changes": {"curation_status": "archived"}},
        "changes.phones.0": {"changes": {"phones": [{"number": "12"}]}},
        "changes": {"changes": {}},
    }
    for field, body in cases.items():
        refused = client.post(url, json=body, headers=mentor)
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["field"].startswith(field), (field, refused.json())
    missing = client.post(f"/v1/services/{uuid.uuid4()}/suggestions",
                          json={"changes": {"name": "X"}}, headers=mentor)  # fmt: skip
    assert missing.status_code == 404
    assert session.scalar(select(ChangeSuggestion.id)) is None


def test_problem_reports_are_decided_within_their_program(
    client: TestClient, session: Session
) -> None:
    service_id = listing(session)
    mentor_user, _ = create_user(
        session, email="m-queue@example.org", role="mentor", program="Harbor Peers"
    )
    report = report_problem(session, mentor_user, service_id, kind="wrong-number", detail=None)
    session.commit()
    coordinator = headers(session, "coordinator")
    elsewhere = headers(session, "coordinator", program="Bay Peers")
    queue = client.get("/v1/review-queue", headers=coordinator).json()
    assert queue[0]["kind"] == "problem" and queue[0]["urgent"] is True  # wrong number: first
    assert queue[0]["detail"] == {"kind": "wrong-number", "detail": None}
    assert all(i["kind"] != "problem" for i in client.get("/v1/review-queue",
                                                          headers=elsewhere).json())  # fmt: skip
    url = f"/v1/problem-reports/{report.id}/decision"
    assert client.post(url, json={"resolved": True}, headers=elsewhere).status_code == 404
    assert client.post(url, json={"resolved": True, "note": "fixed"},
                       headers=coordinator).status_code == 204  # fmt: skip
    session.expire_all()
    stored = session.get(ProblemReport, report.id)
    assert stored is not None and (stored.status, stored.decision_note) == ("resolved", "fixed")
    assert client.post(url, json={"resolved": False}, headers=coordinator).status_code == 409


def test_who_suggested_is_named_to_their_own_program_only(session: Session) -> None:
    """Listings are shared, so every coordinator decides a suggestion; the mentor's email is
    shown only to their own program's staff and to admins. A coordinator of no program sees
    no problem reports (not the reports of no program)."""
    from directory.curation import queue

    service_id = listing(session)
    mentor, _ = create_user(session, email="mm@example.org", role="mentor", program="Harbor Peers")
    here, _ = create_user(
        session, email="ch@example.org", role="coordinator", program="Harbor Peers"
    )
    there, _ = create_user(session, email="ct@example.org", role="coordinator", program="Bay Peers")
    admin, _ = create_user(session, email="ad@example.org", role="admin", program=None)
    nowhere, _ = create_user(session, email="cn@example.org", role="coordinator", program=None)
    queue.suggest(session, mentor, service_id, {"description": "Peers, any hour."})
    report_problem(session, admin, service_id, kind="other", detail="No program's report")

    def who(reader: object) -> list[str | None]:
        items = queue.review_queue(session, reader)  # type: ignore[arg-type]
        return [i.who for i in items if i.kind == "suggestion" and i.service_id == service_id]

    assert who(here) == ["mm@example.org"] and who(admin) == ["mm@example.org"]
    assert who(there) == [""]  # decided there too, but not named
    assert [i.kind for i in queue.review_queue(session, nowhere) if i.kind == "problem"] == []
