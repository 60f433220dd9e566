"""Creating, reading and following up referrals: who sees what, the audit trail, idempotent
creates, concurrent edits, pseudonymous mentee codes, and notes that are never stored plain."""

from __future__ import annotations

import datetime as dt
import subprocess
import threading
import uuid
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts.service import create_user, set_code_pattern
from directory.config import Settings
from directory.errors import InvalidInput, Unavailable
from directory.pgcluster import find_bindir
from directory.referrals.models import Referral, ReferralEvent
from directory.referrals.notes import cipher_for, derived_key, rotate_all
from directory.referrals.schemas import ReferralCreate
from directory.referrals.service import create_referral
from tests.referrals.conftest import body, event, member, refer


def test_a_referral_starts_requested_with_its_history(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    created = refer(client, mentor_a, service_id)
    assert created["status"] == "requested" and created["version"] == 1
    assert created["note"].startswith("Prefers afternoon")
    assert created["follow_up_at"] > created["created_at"]
    noted = event(client, mentor_a, created, type="note", text="Called the clinic, left a message.")
    assert noted.status_code == 200, noted.text
    whole = client.get(f"/v1/referrals/{created['id']}", headers=mentor_a).json()
    assert [e["type"] for e in whole["history"]] == ["status", "note"]
    assert whole["history"][1]["text"] == "Called the clinic, left a message."


def test_others_get_404_and_every_access_is_audited(
    client: TestClient,
    session: Session,
    mentor_a: dict[str, str],
    mentor_b: dict[str, str],
    coordinator_a: dict[str, str],
    coordinator_x: dict[str, str],
    service_id: str,
) -> None:
    created = refer(client, mentor_a, service_id)
    url = f"/v1/referrals/{created['id']}"
    assert client.get(url, headers=mentor_b).status_code == 404
    assert client.get(url, headers=coordinator_x).status_code == 404
    assert event(client, mentor_b, created, type="note", text="x").status_code == 404
    assert client.get(url, headers=coordinator_a).status_code == 200
    assert client.get("/v1/referrals", headers=mentor_b).json()["total"] == 0
    assert client.get("/v1/referrals", headers=coordinator_a).json()["total"] == 1
    audit = client.get("/v1/audit", params={"referral_id": created["id"]}, headers=coordinator_a)
    actions = [row["action"] for row in audit.json()]
    # The three refused attempts are there too (written in their own transactions).
    assert actions == [
        "referral.list",
        "referral.read",
        "referral.denied",
        "referral.denied",
        "referral.denied",
        "referral.create",
    ]
    assert client.get("/v1/audit", headers=mentor_a).status_code == 403
    foreign = client.get("/v1/audit", params={"referral_id": created["id"]}, headers=coordinator_x)
    assert foreign.json() == []


def test_a_retried_create_makes_one_referral(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    headers = {**mentor_a, "Idempotency-Key": "retry-7f3a9c21"}
    sent = body(service_id)
    first = client.post("/v1/referrals", json=sent, headers=headers)
    again = client.post("/v1/referrals", json=sent, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert client.get("/v1/referrals", headers=mentor_a).json()["total"] == 1
    changed = client.post("/v1/referrals", json={**sent, "priority": "urgent"}, headers=headers)
    assert changed.status_code == 422 and changed.json()["field"] == "Idempotency-Key"


def test_concurrent_retries_make_one_referral(
    engine: Engine, session: Session, service_id: str
) -> None:
    """Two connections race with the same key: one insert wins, the other returns it."""
    with engine.begin() as setup:
        user, _ = create_user(
            Session(bind=setup),
            email=f"race-{uuid.uuid4().hex[:8]}@example.org",
            role="mentor",
            program="Race Program",
        )
        user_id = user.id
    cipher = cipher_for(None, "test-secret")
    doc = ReferralCreate.model_validate(body(service_id))
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        factory = sessionmaker(engine)
        with factory() as own, own.begin():
            mentor = own.get(type(user), user_id)
            barrier.wait()
            referral, created = create_referral(
                own,
                mentor,
                doc,
                cipher=cipher,
                idempotency_key="race-key-123456",  # type: ignore[arg-type]
            )
            results.append((referral.id, created))

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(results) == 2 and results[0][0] == results[1][0]
        assert sorted(created for _, created in results) == [False, True]
    finally:
        with engine.begin() as cleanup:
            cleanup.execute(text("DELETE FROM referral WHERE mentor_id = :id"), {"id": user_id})


def test_concurrent_edits_give_one_412(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    created = refer(client, mentor_a, service_id)
    first = event(client, mentor_a, created, type="status", to="accepted")
    second = event(client, mentor_a, created, type="note", text="seen the old version")
    assert first.status_code == 200 and second.status_code == 412
    quoted = client.post(
        f"/v1/referrals/{created['id']}/events",
        json={"type": "note", "text": "with a quoted ETag"},
        headers={**mentor_a, "If-Match": '"2"'},
    )
    assert quoted.status_code == 200
    missing = client.post(
        f"/v1/referrals/{created['id']}/events",
        json={"type": "note", "text": "x"},
        headers=mentor_a,
    )
    assert missing.status_code == 428


@pytest.mark.parametrize(
    "ref",
    [
        "jane.doe@example.org",
        "Jane Doe",
        "JaneDoe",
        "(813) 555-0142",
        "8135550142",
        "+1 813 555 0142",
        "ab",
        "John_Smith1",
        "JaneDoe1990",
        "jdoe1-gmail-com",
        "202_555_0143",
        "07911123456",
        "253-1000x",
    ],
)
def test_mentee_ref_is_a_code_not_a_person(
    client: TestClient, mentor_a: dict[str, str], service_id: str, ref: str
) -> None:
    response = client.post("/v1/referrals", json=body(service_id, mentee_ref=ref), headers=mentor_a)
    assert response.status_code == 422 and response.json()["field"] == "mentee_ref", response.text


def test_a_program_code_pattern_keeps_short_names_out(
    client: TestClient, session: Session, mentor_a: dict[str, str], service_id: str
) -> None:
    # The general rules cannot tell a short name from a code; the program's pattern can.
    refer(client, mentor_a, service_id, mentee_ref="Jo_Li1")
    set_code_pattern(session, "Harbor Peers", "HP-[0-9]{4}")
    session.commit()
    refused = client.post(
        "/v1/referrals", json=body(service_id, mentee_ref="Jo_Li1"), headers=mentor_a
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "mentee_ref" and "HP-[0-9]{4}" in refused.json()["detail"]
    assert refer(client, mentor_a, service_id, mentee_ref="hp-2001")["mentee_ref"] == "HP-2001"
    elsewhere = member(session, "mentor", "Other Program")  # patterns are per program
    refer(client, elsewhere, service_id, mentee_ref="Jo_Li1")
    for broken in ("HP-[0-9", "HP-[0-9]{4})|(.*"):  # the second would escape its anchors
        with pytest.raises(InvalidInput, match="not a valid regular expression"):
            set_code_pattern(session, "Harbor Peers", broken)
    with pytest.raises(InvalidInput, match="no program"):
        set_code_pattern(session, "Nobody's Program", "X[0-9]")
    set_code_pattern(session, "Harbor Peers", None)
    session.commit()
    refer(client, mentor_a, service_id, mentee_ref="Jo_Li2")


def test_bad_create_input_is_422(
    client: TestClient, mentor_a: dict[str, str], coordinator_a: dict[str, str], service_id: str
) -> None:
    for overrides, field in (
        ({"service_id": str(uuid.uuid4())}, "service_id"),
        ({"needs": ["no-such-need"]}, "needs"),
        ({"note": "x" * 501}, "note"),
        ({"priority": "asap"}, "priority"),
        (
            {"consent": {"scope": "x", "obtained_at": "yesterday", "method": "verbal"}},
            "consent.obtained_at",
        ),
    ):
        response = client.post(
            "/v1/referrals", json={**body(service_id), **overrides}, headers=mentor_a
        )
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    assert (
        client.post("/v1/referrals", json=body(service_id), headers=coordinator_a).status_code
        == 403
    )


def test_follow_ups_put_urgent_and_overdue_first(
    client: TestClient, session: Session, mentor_a: dict[str, str], service_id: str
) -> None:
    later = refer(client, mentor_a, service_id)
    earlier = refer(client, mentor_a, service_id)
    urgent = refer(client, mentor_a, service_id, priority="urgent")
    for made, due in ((later, "2026-01-10"), (earlier, "2026-01-05"), (urgent, "2026-01-09")):
        session.execute(  # time passes: the follow-ups fall due
            text("UPDATE referral SET follow_up_at = :due WHERE id = :id"),
            {"due": f"{due}T10:00:00Z", "id": made["id"]},
        )
    session.commit()
    assert (
        client.post(
            "/v1/referrals",
            json=body(service_id, follow_up_at="2026-01-01T00:00:00Z"),
            headers=mentor_a,
        ).status_code
        == 422
    )  # a new one cannot be due in the past
    todo = client.get(
        "/v1/follow-ups", params={"due_before": "2026-02-01T00:00:00Z"}, headers=mentor_a
    )
    assert [r["id"] for r in todo.json()] == [urgent["id"], earlier["id"], later["id"]]
    assert all(r["overdue"] for r in todo.json())
    overdue = client.get("/v1/referrals", params={"overdue": "true"}, headers=mentor_a).json()
    assert overdue["total"] == 3


def test_notes_are_encrypted_at_rest_and_keys_rotate(
    client: TestClient, session: Session, mentor_a: dict[str, str], service_id: str
) -> None:
    created = refer(client, mentor_a, service_id)
    event(client, mentor_a, created, type="note", text="Mentee said the bus fare is a problem.")
    referral_id = uuid.UUID(created["id"])
    stored = session.scalar(select(Referral.note).where(Referral.id == referral_id))
    assert stored is not None and b"afternoon" not in stored
    development = cipher_for(None, Settings().secret_key)  # what the test app encrypts with
    old_key = derived_key(Settings().secret_key)
    new_key = Fernet.generate_key().decode()
    assert rotate_all(session, cipher_for(f"{new_key},{old_key}", "unused")) == 3  # + consent
    only_new = cipher_for(new_key, "unused")
    rotated = session.scalar(select(Referral.note).where(Referral.id == referral_id))
    assert rotated is not None and rotated != stored
    assert only_new.open(rotated).startswith("Prefers afternoon")
    texts = session.scalars(select(ReferralEvent.text).where(ReferralEvent.text.is_not(None)))
    assert [only_new.open(t) for t in texts] == ["Mentee said the bus fare is a problem."]
    with pytest.raises(Unavailable):
        development.open(rotated)  # the old key alone no longer reads it


def test_a_database_dump_holds_no_note_text(
    engine: Engine, database_url: str, service_id: str
) -> None:
    secret = f"Mentee-secret-{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        own = Session(bind=connection)
        mentor, _ = create_user(
            own, email=f"dump-{uuid.uuid4().hex[:8]}@example.org", role="mentor", program="Dump"
        )
        doc = ReferralCreate.model_validate(body(service_id, note=f"{secret} in the note"))
        cipher = cipher_for(None, Settings().secret_key)
        referral, _ = create_referral(own, mentor, doc, cipher=cipher)
        own.flush()
    try:
        dump = subprocess.run(
            [str(find_bindir() / "pg_dump"), "--data-only", database_url],
            capture_output=True,
            check=True,
        ).stdout
        assert b"Dump" in dump  # the program's name: the dump did include our rows
        assert secret.encode() not in dump
        assert b"share my first name" not in dump  # the consent's wording is encrypted too
    finally:
        with engine.begin() as cleanup:
            cleanup.execute(text("DELETE FROM referral WHERE id = :id"), {"id": referral.id})


def test_codes_are_case_blind_and_times_without_zone_are_utc(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    day = (dt.date.today() + dt.timedelta(days=200)).isoformat()
    created = refer(
        client, mentor_a, service_id, mentee_ref="hp-1042", follow_up_at=f"{day}T09:00:00"
    )
    assert created["mentee_ref"] == "HP-1042" and created["follow_up_at"].startswith(
        f"{day}T09:00:00"
    )
    found = client.get("/v1/referrals", params={"mentee_ref": "Hp-1042"}, headers=mentor_a).json()
    assert found["total"] == 1 and found["items"][0]["note"] is None  # lists leave notes out
    for consent, field in (
        (
            {"scope": "x", "obtained_at": "2099-01-01T00:00:00Z", "method": "verbal"},
            "consent.obtained_at",
        ),
        (
            {
                "scope": "x",
                "obtained_at": "2026-01-02T00:00:00Z",
                "method": "verbal",
                "expires_at": "2026-01-01T00:00:00Z",
            },
            "consent.expires_at",
        ),
    ):
        response = client.post(
            "/v1/referrals", json=body(service_id, consent=consent), headers=mentor_a
        )
        assert response.status_code == 422 and response.json()["field"] == field, response.text


def test_reached_attempts_do_not_count_toward_could_not_contact(
    client: TestClient, mentor_a: dict[str, str], service_id: str
) -> None:
    referral = refer(client, mentor_a, service_id)
    referral = event(client, mentor_a, referral, type="status", to="accepted").json()
    for _ in range(3):
        referral = event(
            client, mentor_a, referral, type="contact-attempt", channel="phone", result="reached"
        ).json()
    failing = event(
        client,
        mentor_a,
        referral,
        type="status",
        to="failed",
        reason="x",
        outcome="could-not-contact",
    )
    assert failing.status_code == 409
    dated = event(
        client, mentor_a, referral, type="sub-status", value="waitlisted", date="2099-01-01"
    )
    assert dated.status_code == 422
    undated = event(client, mentor_a, referral, type="sub-status", value="appointment-scheduled")
    assert undated.status_code == 422


def test_a_refused_follow_up_is_audited_though_nothing_else_is_kept(
    client: TestClient, mentor_a: dict[str, str], coordinator_a: dict[str, str], service_id: str
) -> None:
    created = refer(client, mentor_a, service_id)
    refused = event(client, mentor_a, created, type="status", to="completed")  # not yet
    assert refused.status_code == 409
    stale = client.post(
        f"/v1/referrals/{created['id']}/events",
        json={"type": "note", "text": "x"},
        headers={**mentor_a, "If-Match": "7"},
    )
    assert stale.status_code == 412
    audit = client.get("/v1/audit", params={"referral_id": created["id"]}, headers=coordinator_a)
    actions = [row["action"] for row in audit.json()]
    assert actions == ["referral.note.412", "referral.status.409", "referral.create"]
    history = client.get(f"/v1/referrals/{created['id']}", headers=mentor_a).json()["history"]
    assert [e["type"] for e in history] == ["status"]  # the refused events left nothing
