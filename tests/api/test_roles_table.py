"""Who may do what, walked as a table: every role (and no one) against the API's guarded
actions. The answer must follow ``directory/accounts/roles.py``: an allowed role is never
refused (401/403), any other role is a 403, and no one signed in is a 401."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from directory.accounts.roles import ALLOWED, Action
from directory.accounts.service import create_user
from tests.api.test_services import create

ROLES = ("mentor", "coordinator", "admin")
LISTING = {"name": "Roles table listing", "organization": {"name": "Roles org"}}


def headers(session: Session, role: str) -> dict[str, str]:
    program = None if role == "admin" else "Roles Table Program"
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    _, token = create_user(session, email=email, role=role, program=program)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def calls(service_id: str) -> list[tuple[Action, str, str, dict[str, Any] | None]]:
    """(the action that guards it, method, path, JSON body)."""
    return [
        ("curate", "POST", "/v1/services", LISTING),
        ("curate", "GET", f"/v1/services/{service_id}/history", None),
        ("review-problems", "GET", "/v1/review-queue", None),
        ("read-audit", "GET", "/v1/audit", None),
        ("read-reports", "GET", "/v1/reports/unmet-needs", None),
        ("set-code-pattern", "PUT", "/v1/program/mentee-code-pattern", {"pattern": None}),
    ]


@pytest.mark.parametrize("who", [None, *ROLES])
def test_every_guarded_call_follows_the_roles_table(
    client: TestClient, session: Session, coordinator: dict[str, str], who: str | None
) -> None:
    service_id = create(client, coordinator)["id"]
    sent = headers(session, who) if who else {}
    wrong = []
    for action, method, path, body in calls(service_id):
        status = client.request(method, path, json=body, headers=sent).status_code
        if who is None:
            expected_ok = status == 401
        elif who in ALLOWED[action]:
            expected_ok = status not in (401, 403)
        else:
            expected_ok = status == 403
        if not expected_ok:
            wrong.append(f"{who or 'nobody'} {method} {path} ({action}): {status}")
    assert not wrong, "\n".join(wrong)


def test_a_mentor_refers_and_staff_do_not(client: TestClient, session: Session) -> None:
    """``refer`` is the mentor's alone: a coordinator's referral is a 403 naming the rule."""
    from tests.referrals.conftest import body

    listing = create(client, headers(session, "coordinator"), curation_status="published")
    for role in ROLES:
        answer = client.post(
            "/v1/referrals", json=body(listing["id"]), headers=headers(session, role)
        )
        assert (answer.status_code == 201) == (role in ALLOWED["refer"]), (role, answer.text)
        if role not in ALLOWED["refer"]:
            assert answer.status_code == 403 and "mentors make referrals" in answer.json()["detail"]
