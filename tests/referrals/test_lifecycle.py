"""Every from/to pair of the lifecycle: allowed moves succeed, the rest are 409 naming the
allowed next statuses; reasons, outcomes and contact attempts as the rules say."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from directory.referrals.lifecycle import MOVES, NEEDS_REASON, OUTCOMES, STATUSES, next_statuses
from tests.referrals.conftest import event, refer

# A way to reach each status from requested.
PATHS = {
    "requested": [],
    "accepted": ["accepted"],
    "rejected": ["rejected"],
    "cancelled": ["cancelled"],
    "in-progress": ["accepted", "in-progress"],
    "on-hold": ["accepted", "on-hold"],
    "completed": ["accepted", "completed"],
    "failed": ["accepted", "failed"],
    "entered-in-error": ["entered-in-error"],
}


def move(to: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"type": "status", "to": to}
    if to in NEEDS_REASON:
        fields["reason"] = "mentee asked to pause"
    if to in OUTCOMES:
        fields["outcome"] = OUTCOMES[to][0] if to == "completed" else "no-capacity"
    return fields


def reach(client: TestClient, headers: dict[str, str], service_id: str, status: str) -> Any:
    referral = refer(client, headers, service_id)
    for step in PATHS[status]:
        response = event(client, headers, referral, **move(step))
        assert response.status_code == 200, response.text
        referral = response.json()
    assert referral["status"] == status
    return referral


@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_every_pair(
    client: TestClient, mentor_a: dict[str, str], service_id: str, source: str, target: str
) -> None:
    referral = reach(client, mentor_a, service_id, source)
    response = event(client, mentor_a, referral, **move(target))
    if target in next_statuses(source):
        assert response.status_code == 200, response.text
        assert response.json()["status"] == target
        assert response.json()["version"] == referral["version"] + 1
    else:
        assert response.status_code == 409, response.text
        detail = response.json()["detail"]
        allowed = next_statuses(source)
        assert all(status in detail for status in allowed) and "allowed" in detail


def test_the_table_is_the_architecture_pages() -> None:
    assert MOVES["requested"] == {"accepted", "rejected", "cancelled"}
    assert next_statuses("completed") == {"entered-in-error"}
    assert next_statuses("entered-in-error") == set()


def test_reasons_and_outcomes_are_required(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    referral = reach(client, mentor_a, service_id, "accepted")
    for fields, field in (
        ({"to": "on-hold"}, "reason"),
        ({"to": "completed"}, "outcome"),
        ({"to": "completed", "outcome": "no-show"}, "outcome"),  # not a connected outcome
        ({"to": "failed", "reason": "x"}, "outcome"),
        ({"to": "in-progress", "outcome": "got-help"}, "outcome"),
    ):
        response = event(client, mentor_a, referral, type="status", **fields)
        assert response.status_code == 422 and response.json()["field"] == field, response.text


def test_could_not_contact_needs_three_attempts(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    referral = reach(client, mentor_a, service_id, "accepted")
    failing = {
        "type": "status",
        "to": "failed",
        "reason": "no answer",
        "outcome": "could-not-contact",
    }
    for _attempt in range(3):
        early = event(client, mentor_a, referral, **failing)
        assert early.status_code == 409 and "3 logged contact attempts" in early.json()["detail"]
        logged = event(
            client, mentor_a, referral, type="contact-attempt", channel="phone", result="no-answer"
        )
        assert logged.status_code == 200, logged.text
        referral = logged.json()
    closed = event(client, mentor_a, referral, **failing)
    assert closed.status_code == 200 and closed.json()["outcome"] == "could-not-contact"
