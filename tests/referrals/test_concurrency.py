"""Two followers-up with the same version on two connections: one wins, the other gets 412.

Real, committed transactions (not the rolled-back test transaction); it deletes what it made
(the audit rows stay: the log is append-only, and they hold no free text).
"""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory.accounts.models import User
from directory.accounts.service import create_user
from directory.errors import PreconditionFailed
from directory.referrals.notes import cipher_for
from directory.referrals.schemas import NoteEvent, ReferralCreate
from directory.referrals.service import add_event, create_referral
from tests.referrals.conftest import body

CIPHER = cipher_for(None, "concurrency-test")


def test_racing_events_with_one_version_give_one_412(engine: Engine, service_id: str) -> None:
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        mentor, _ = create_user(
            session,
            email=f"race-{uuid.uuid4().hex[:8]}@example.org",
            role="mentor",
            program="Concurrency",
        )
        referral, _ = create_referral(
            session, mentor, ReferralCreate.model_validate(body(service_id)), cipher=CIPHER
        )
    note = NoteEvent(type="note", text="racing")
    first_locked, outcome = threading.Event(), {}

    def second_writer() -> None:
        first_locked.wait(10)
        try:
            with factory() as other, other.begin():
                user = other.get(User, mentor.id)
                assert user is not None
                add_event(other, user, referral.id, note, expected_version=1, cipher=CIPHER)
            outcome["second"] = "ok"
        except PreconditionFailed:
            outcome["second"] = "412"
        except Exception as error:  # anything else is the bug this test is about
            outcome["second"] = repr(error)

    thread = threading.Thread(target=second_writer)
    thread.start()
    try:
        with factory() as session, session.begin():
            user = session.get(User, mentor.id)
            assert user is not None
            add_event(session, user, referral.id, note, expected_version=1, cipher=CIPHER)
            first_locked.set()
            thread.join(0.5)  # the second writer must be waiting on our row lock
            assert thread.is_alive()
        thread.join(10)
        assert outcome == {"second": "412"}
    finally:
        with Session(engine) as cleanup, cleanup.begin():
            cleanup.execute(text("DELETE FROM referral WHERE id = :id"), {"id": referral.id})
