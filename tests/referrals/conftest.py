"""Programs, their mentors and coordinators, and a referral factory."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.accounts.service import create_user
from directory.listings.models import Service


def member(session: Session, role: str, program: str) -> dict[str, str]:
    _, token = create_user(
        session, email=f"{role}-{os.urandom(4).hex()}@example.org", role=role, program=program
    )
    session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def mentor_a(session: Session) -> dict[str, str]:
    return member(session, "mentor", "Harbor Peers")


@pytest.fixture
def mentor_b(session: Session) -> dict[str, str]:
    return member(session, "mentor", "Harbor Peers")


@pytest.fixture
def coordinator_a(session: Session) -> dict[str, str]:
    return member(session, "coordinator", "Harbor Peers")


@pytest.fixture
def coordinator_x(session: Session) -> dict[str, str]:
    return member(session, "coordinator", "Other Program")


@pytest.fixture
def service_id(session: Session) -> str:
    found = session.scalar(
        select(Service.id).where(Service.curation_status == "published").order_by(Service.name)
    )
    return str(found)


def body(service_id: str, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "mentee_ref": "HP-1042",
        "service_id": service_id,
        "needs": ["anxiety"],
        "priority": "routine",
        "contact_preference": "mentor-will-contact",
        "consent": {
            "scope": "share my first name and need with the clinic",
            "obtained_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
            "method": "verbal",
        },
        "note": "Prefers afternoon appointments; anxious about waiting rooms.",
    }
    doc.update(overrides)
    return doc


def refer(
    client: TestClient, headers: dict[str, str], service_id: str, **overrides: Any
) -> dict[str, Any]:
    response = client.post("/v1/referrals", json=body(service_id, **overrides), headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def event(
    client: TestClient, headers: dict[str, str], referral: dict[str, Any], **fields: Any
) -> Any:
    return client.post(
        f"/v1/referrals/{referral['id']}/events",
        json=fields,
        headers={**headers, "If-Match": str(referral["version"])},
    )
