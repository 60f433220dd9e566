"""What a referral refuses: an unpublished listing, consent already over, dates out of any
sensible window; and what its end clears."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from directory.listings.models import Service
from tests.referrals.conftest import body, event, refer


def _ago(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(**delta)).isoformat()


def _ahead(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(**delta)).isoformat()


def _consent(**fields: Any) -> dict[str, Any]:
    return {"scope": "share my need", "obtained_at": _ago(hours=1), "method": "verbal", **fields}


@pytest.mark.parametrize("state", ["archived", "draft"])
def test_an_unpublished_listing_takes_no_referral(
    client: TestClient, session: Session, mentor_a: dict[str, str], service_id: str, state: str
) -> None:
    listing = session.get(Service, uuid.UUID(service_id))
    assert listing is not None
    listing.curation_status = state
    session.commit()
    response = client.post("/v1/referrals", json=body(service_id), headers=mentor_a)
    assert response.status_code == 409, response.text
    assert response.json()["field"] == "service_id"
    assert f"the listing is {state}" in response.json()["detail"]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"consent": _consent(expires_at=_ago(minutes=1))}, "consent.expires_at", "expired"),
        ({"consent": _consent(expires_at="9999-12-31T00:00:00Z")}, "consent.expires_at", "ahead"),
        ({"consent": _consent(obtained_at="1999-12-31T00:00:00Z")}, "consent.obtained_at", "2000"),
        ({"follow_up_at": "9999-01-01T09:00:00Z"}, "follow_up_at", "ahead"),
        ({"follow_up_at": _ahead(days=400)}, "follow_up_at", "ahead"),
    ],
)
def test_a_date_out_of_its_window_is_refused_by_name(
    client: TestClient,
    mentor_a: dict[str, str],
    service_id: str,
    overrides: dict[str, Any],
    field: str,
    words: str,
) -> None:
    response = client.post("/v1/referrals", json=body(service_id, **overrides), headers=mentor_a)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert words in response.json()["detail"]


def test_dates_within_their_window_are_taken(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    made = refer(
        client,
        mentor_a,
        service_id,
        consent=_consent(expires_at=_ahead(days=700)),
        follow_up_at=_ahead(days=360),
    )
    assert made["status"] == "requested"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "follow-up", "next_at": "9999-01-01T09:00:00Z"}, "next_at"),
        ({"type": "sub-status", "value": "appointment-scheduled", "date": "9999-01-01"}, "date"),
    ],
)
def test_an_event_date_out_of_its_window_is_refused_by_name(
    client: TestClient,
    mentor_a: dict[str, str],
    service_id: str,
    fields: dict[str, Any],
    field: str,
) -> None:
    made = refer(client, mentor_a, service_id)
    response = event(client, mentor_a, made, **fields)
    assert response.status_code == 422, response.text
    assert response.json()["field"].endswith(field)
    assert "ahead" in response.json()["detail"]


def test_an_ended_referral_keeps_no_sub_status_and_no_follow_up(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    made = refer(client, mentor_a, service_id, follow_up_at=_ahead(days=30))
    made = event(client, mentor_a, made, type="status", to="accepted").json()
    made = event(client, mentor_a, made, type="sub-status", value="waitlisted").json()
    assert made["sub_status"] == "waitlisted"
    done = event(client, mentor_a, made, type="status", to="completed", outcome="got-help")
    assert done.status_code == 200, done.text
    ended = done.json()
    assert ended["sub_status"] is None
    closed = dt.datetime.fromisoformat(ended["follow_up_at"])
    assert closed <= dt.datetime.now(dt.UTC) and not ended["overdue"]
    due = client.get("/v1/follow-ups", headers=mentor_a)
    assert due.status_code == 200 and made["id"] not in {r["id"] for r in due.json()}
