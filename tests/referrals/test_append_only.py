"""What the database itself refuses: audit rows never change or go; events change only in their
encrypted text and go only with their referral."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.referrals.conftest import refer


def refused(session: Session, statement: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(DBAPIError, match=message), session.begin_nested():
        session.execute(text(statement), params)


def test_the_audit_log_takes_no_update_delete_or_truncate(
    client: TestClient, session: Session, mentor_a: dict[str, str], service_id: str
) -> None:
    made = refer(client, mentor_a, service_id)
    ids = {"id": made["id"]}
    refused(
        session, "UPDATE audit_log SET action = 'x' WHERE referral_id = :id", ids, "append-only"
    )
    refused(session, "DELETE FROM audit_log WHERE referral_id = :id", ids, "append-only")
    refused(session, "TRUNCATE audit_log", {}, "append-only")


def test_events_change_only_in_their_text_and_go_only_with_their_referral(
    client: TestClient, session: Session, mentor_a: dict[str, str], service_id: str
) -> None:
    made = refer(client, mentor_a, service_id)
    ids = {"id": made["id"]}
    refused(
        session,
        "UPDATE referral_event SET type = 'note' WHERE referral_id = :id",
        ids,
        "append-only",
    )
    refused(
        session, "DELETE FROM referral_event WHERE referral_id = :id", ids, "with their referral"
    )
    refused(session, "TRUNCATE referral_event CASCADE", {}, "with their referral")
    with session.begin_nested():  # re-encryption and the purge change the text only
        session.execute(text("UPDATE referral_event SET text = NULL WHERE referral_id = :id"), ids)
    with session.begin_nested():  # an erasure: the referral goes, and its events with it
        session.execute(text("DELETE FROM referral WHERE id = :id"), ids)
    left = "SELECT count(*) FROM referral_event WHERE referral_id = :id"
    assert session.scalar(text(left), ids) == 0
