"""Availability under refusals and faults: a flood of refused requests on a small pool, pool
exhaustion, and the health check.

Real, committed transactions on an engine of its own (a pool of two); the referral made is
deleted at the end (the audit rows stay: the log is append-only, and they hold no free text).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from directory.accounts.models import AuditEntry
from directory.accounts.service import create_user
from directory.api.app import create_app
from directory.config import Settings
from directory.db import make_engine, make_sessionmaker, unit_of_work
from directory.listings.models import Service
from directory.referrals.notes import cipher_for
from directory.referrals.schemas import ReferralCreate
from directory.referrals.service import create_referral
from tests.referrals.conftest import body

FLOOD = 36  # the refusals at once that froze a pool of ten for its whole timeout


@dataclass
class Flood:
    client: TestClient
    engine: Engine
    referral_id: uuid.UUID
    stranger: dict[str, str]


@pytest.fixture
def flood(database_url: str, engine: Engine) -> Iterator[Flood]:
    settings = Settings(database_url=database_url, index_sync_interval=0)
    small = make_engine(
        database_url, timeouts=settings.api_timeouts, pool_size=2, max_overflow=0, pool_timeout=2
    )
    program = f"Availability {uuid.uuid4().hex[:8]}"
    with unit_of_work(make_sessionmaker(engine)) as session:
        owner, _ = create_user(
            session, email=f"own-{program[-8:]}@example.org", role="mentor", program=program
        )
        _, token = create_user(
            session, email=f"other-{program[-8:]}@example.org", role="mentor", program=program
        )
        service = session.scalar(select(Service.id).where(Service.curation_status == "published"))
        doc = ReferralCreate.model_validate(body(str(service)))
        referral, _ = create_referral(session, owner, doc, cipher=cipher_for(None, "x"))
    app = create_app(settings, session_factory=make_sessionmaker(small))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Flood(client, small, referral.id, {"Authorization": f"Bearer {token}"})
    finally:
        small.dispose()
        with Session(engine) as cleanup, cleanup.begin():
            cleanup.execute(text("DELETE FROM referral WHERE id = :id"), {"id": referral.id})


def test_a_flood_of_refusals_neither_freezes_the_pool_nor_loses_its_audit(
    flood: Flood, engine: Engine
) -> None:
    url = f"/v1/referrals/{flood.referral_id}"

    def refused(i: int) -> int:
        if i % 2:
            return flood.client.get(url, headers=flood.stranger).status_code
        note = {"type": "note", "text": "x"}
        headers = {**flood.stranger, "If-Match": "1"}
        return flood.client.post(f"{url}/events", json=note, headers=headers).status_code

    def crisis_lines() -> tuple[int, float]:
        started = time.monotonic()
        status = flood.client.get("/v1/crisis-lines").status_code
        return status, time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(FLOOD + 1) as pool:
        answers = pool.map(refused, range(FLOOD))
        public = pool.submit(crisis_lines)
        codes = list(answers)
        crisis_status, crisis_took = public.result()
    took = time.monotonic() - started
    print(f"{FLOOD} refusals on a pool of 2: {took:.2f} s; crisis lines in {crisis_took:.2f} s")
    assert codes == [404] * FLOOD
    assert crisis_status == 200 and crisis_took < 3
    assert took < 4  # before: the pool deadlocked until its timeout, and answered 500s
    with Session(engine) as session:
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.referral_id == flood.referral_id,
                AuditEntry.action == "referral.denied",
            )
        )
    assert audited == FLOOD


def test_an_exhausted_pool_is_a_503_with_retry_after(flood: Flood) -> None:
    held = [flood.engine.connect() for _ in range(2)]
    try:
        answer = flood.client.get(f"/v1/referrals/{flood.referral_id}", headers=flood.stranger)
    finally:
        for connection in held:
            connection.close()
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"] == "Unavailable"
