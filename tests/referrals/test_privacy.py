"""Retention purge, access (export) and erasure requests by mentee code."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from directory.referrals.models import Referral, ReferralEvent
from directory.referrals.privacy import purge
from tests.referrals.conftest import event, refer


def close(
    client: TestClient, headers: dict[str, str], referral: dict[str, object]
) -> dict[str, object]:
    response = event(client, headers, referral, type="status", to="cancelled", reason="moved away")
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_purge_strips_free_text_of_old_closed_referrals_and_keeps_the_figures(
    client: TestClient, session: Session, mentor_a: dict[str, str], service_id: str
) -> None:
    old = close(client, mentor_a, refer(client, mentor_a, service_id))
    recent = close(client, mentor_a, refer(client, mentor_a, service_id))
    still_open = refer(client, mentor_a, service_id)
    session.execute(
        text("UPDATE referral SET closed_at = now() - interval '400 days' WHERE id = :id"),
        {"id": old["id"]},
    )
    assert purge(session, older_than=dt.timedelta(days=365)) == 1
    purged = session.get(Referral, uuid.UUID(str(old["id"])), populate_existing=True)
    assert purged is not None and purged.note is None and purged.mentee_ref == "purged"
    assert purged.status == "cancelled" and set(purged.consent) == {"method", "obtained_at"}
    texts = session.scalars(
        select(ReferralEvent.text).where(ReferralEvent.referral_id == purged.id)
    ).all()
    assert texts and all(t is None for t in texts)
    for kept in (recent, still_open):
        row = session.get(Referral, uuid.UUID(str(kept["id"])), populate_existing=True)
        assert row is not None and row.note is not None and row.mentee_ref == "HP-1042"
    assert purge(session, older_than=dt.timedelta(days=365)) == 0  # done once


def test_access_request_exports_one_mentee_with_history(
    client: TestClient,
    mentor_a: dict[str, str],
    coordinator_a: dict[str, str],
    coordinator_x: dict[str, str],
    service_id: str,
) -> None:
    first = refer(client, mentor_a, service_id)
    event(client, mentor_a, first, type="note", text="Asked for a Spanish-speaking counselor.")
    refer(client, mentor_a, service_id, mentee_ref="HP-2001")
    exported = client.get("/v1/mentees/HP-1042/referrals", headers=coordinator_a)
    assert exported.status_code == 200, exported.text
    [only] = exported.json()
    assert only["id"] == first["id"] and only["history"][-1]["text"].startswith("Asked for")
    assert client.get("/v1/mentees/HP-1042/referrals", headers=coordinator_x).json() == []
    assert client.get("/v1/mentees/HP-1042/referrals", headers=mentor_a).status_code == 403
    assert client.get("/v1/mentees/jane@x.org/referrals", headers=coordinator_a).status_code == 422


def test_erasure_request_deletes_them_and_the_audit_remembers(
    client: TestClient,
    session: Session,
    mentor_a: dict[str, str],
    coordinator_a: dict[str, str],
    service_id: str,
) -> None:
    created = refer(client, mentor_a, service_id)
    erased = client.delete("/v1/mentees/HP-1042/referrals", headers=coordinator_a)
    assert erased.status_code == 200 and erased.json() == {"erased": 1}
    assert client.get(f"/v1/referrals/{created['id']}", headers=mentor_a).status_code == 404
    audit = client.get("/v1/audit", params={"referral_id": created["id"]}, headers=coordinator_a)
    actions = [row["action"] for row in audit.json()]
    assert actions[:2] == ["referral.denied", "mentee.erase"]  # newest first: the 404 came last
    assert (
        session.scalar(
            text("SELECT count(*) FROM referral_event WHERE referral_id = :id"),
            {"id": created["id"]},
        )
        == 0
    )
    assert client.delete("/v1/mentees/HP-1042/referrals", headers=mentor_a).status_code == 403
